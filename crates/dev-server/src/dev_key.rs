//! The development session key: 32 random octets from the OS, made once
//! and kept in a file only its owner can read, so that `cargo run`'s
//! sessions survive a restart without an `AUTH_SECRET`.

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;
use sign_in_with_vercel::MIN_SECRET_BYTES;

/// 32 random octets from the OS, base64url: the emulated app's client
/// secret, and the development session key.
pub(crate) fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The development session key stored in `path`, made when there is none
/// yet or it is unusable (too short, or a symbolic link). Readable by the
/// owner only: a new key is written to a file of its own made so, then
/// renamed over `path` (which replaces a symbolic link there rather than
/// writing through it), and a kept key's file is made so if it was not.
pub(crate) fn dev_key(path: &Path) -> Result<String, String> {
    let is_link = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
    if !is_link
        && let Ok(key) = std::fs::read_to_string(path)
        && key.trim().len() >= MIN_SECRET_BYTES
    {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(
                |e| format!("cannot protect the development key {}: {e}", path.display()),
            )?;
        }
        return Ok(key.trim().to_owned());
    }
    let key = random_secret();
    let fresh = path.with_extension(format!("new-{}", std::process::id()));
    let write = || -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        // Left by a run that stopped between writing and renaming it.
        match std::fs::remove_file(&fresh) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        std::io::Write::write_all(&mut options.open(&fresh)?, key.as_bytes())?;
        std::fs::rename(&fresh, path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&fresh);
        format!("cannot write the development key {}: {e}", path.display())
    })?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_development_key_is_made_once_and_kept() {
        let dir = std::env::temp_dir().join(format!("dev-key-{}", random_secret()));
        let path = dir.join("target").join("dev-auth-secret");
        let first = dev_key(&path).unwrap();
        assert!(first.len() >= MIN_SECRET_BYTES);
        assert_eq!(dev_key(&path).unwrap(), first, "a restart keeps the key");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "only the owner can read it");
        }
        std::fs::write(&path, "short").unwrap();
        assert_ne!(
            dev_key(&path).unwrap(),
            "short",
            "an unusable key is replaced"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// A key file others can read, kept or replaced, ends up readable by
    /// its owner only; a new key replaces a symbolic link at its path
    /// rather than writing through it.
    #[cfg(unix)]
    #[test]
    fn the_development_key_is_readable_by_its_owner_only() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = std::env::temp_dir().join(format!("dev-key-{}", random_secret()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("dev-auth-secret");
        let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        let readable = |contents: &str| {
            std::fs::write(&path, contents).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        };

        let kept = random_secret();
        readable(&kept);
        assert_eq!(dev_key(&path).unwrap(), kept);
        assert_eq!(mode(&path), 0o600, "a kept key");

        readable("short");
        assert_ne!(dev_key(&path).unwrap(), "short");
        assert_eq!(mode(&path), 0o600, "a replaced key");

        // A link, even to a usable key, is replaced, and its target left
        // as it was.
        let elsewhere = dir.join("elsewhere");
        let target_key = random_secret();
        std::fs::write(&elsewhere, &target_key).unwrap();
        std::fs::set_permissions(&elsewhere, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::fs::remove_file(&path).unwrap();
        std::os::unix::fs::symlink(&elsewhere, &path).unwrap();
        // And a temporary file left by a run that stopped halfway.
        std::fs::write(
            path.with_extension(format!("new-{}", std::process::id())),
            "x",
        )
        .unwrap();
        let key = dev_key(&path).unwrap();
        assert_ne!(key, target_key);
        assert_eq!(std::fs::read_to_string(&elsewhere).unwrap(), target_key);
        assert_eq!(mode(&elsewhere), 0o644, "the link's target");
        assert!(
            !std::fs::symlink_metadata(&path)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), key);
        assert_eq!(mode(&path), 0o600);
        let leftovers: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
        assert_eq!(leftovers.len(), 2, "no temporary file is left");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
