//! Where the app's routes and pages are: the URL layout, as configuration.
//!
//! The defaults are this project's own layout (the functions of
//! `api/auth/*.rs`, `api/validate-token.rs` and `api/user-info.rs`, the
//! pages of `public/`). A project that mounts sign-in elsewhere says so here,
//! in code ([`Paths::with_base`] or field by field) or with `AUTH_BASE_PATH`,
//! and puts its shims at the matching files: Vercel serves `api/x/y.rs` at
//! `/api/x/y`.

use crate::origin::safe_return_path;

/// The app's URL layout. Every value is an absolute path on the app's
/// origin, without query or fragment.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Paths {
    /// Starts a sign-in (`GET`); default `/api/auth/authorize`.
    pub authorize: String,
    /// The redirect URI's path, where the provider sends the browser back
    /// (`GET`); default `/api/auth/callback`. It must be registered with the
    /// provider as `<origin><callback>`.
    pub callback: String,
    /// Who is signed in (`GET`); default `/api/auth/session`.
    pub session: String,
    /// Signs out (`POST`); default `/api/auth/signout`.
    pub signout: String,
    /// Introspects the access token (`GET`); default `/api/validate-token`.
    pub validate_token: String,
    /// The provider's current view of the user (`GET`); default `/api/user-info`.
    pub user_info: String,
    /// The page failed sign-ins are sent to, with `?error=<code>`; default
    /// `/auth/error`.
    pub error_page: String,
    /// Where a sign-in returns when it was given no valid `next`; default
    /// `/profile`.
    pub default_return: String,
}

/// The base of the sign-in routes by default.
pub const DEFAULT_BASE_PATH: &str = "/api/auth";

impl Default for Paths {
    fn default() -> Self {
        Self::with_base(DEFAULT_BASE_PATH)
    }
}

impl Paths {
    /// The default layout with the four sign-in routes (authorize,
    /// callback, session, signout) under `base` instead of `/api/auth`:
    /// `Paths::with_base("/api/login")` serves `/api/login/callback`.
    pub fn with_base(base: &str) -> Self {
        let base = base.trim_end_matches('/');
        Self {
            authorize: format!("{base}/authorize"),
            callback: format!("{base}/callback"),
            session: format!("{base}/session"),
            signout: format!("{base}/signout"),
            validate_token: "/api/validate-token".to_owned(),
            user_info: "/api/user-info".to_owned(),
            error_page: "/auth/error".to_owned(),
            default_return: "/profile".to_owned(),
        }
    }

    /// Every path by name, for checks and messages.
    pub fn all(&self) -> [(&'static str, &str); 8] {
        [
            ("authorize", &self.authorize),
            ("callback", &self.callback),
            ("session", &self.session),
            ("signout", &self.signout),
            ("validate_token", &self.validate_token),
            ("user_info", &self.user_info),
            ("error_page", &self.error_page),
            ("default_return", &self.default_return),
        ]
    }

    /// Checks that every value is a plain same-origin path (the rules of
    /// [`safe_return_path`], and no query or fragment), that no two routes
    /// share a path (one would never be reached), and that the error page
    /// is not a route (a route's error would send the browser back to it,
    /// in a loop); the error names the first that is not.
    pub fn check(&self) -> Result<(), String> {
        let all = self.all();
        for (name, path) in all {
            if safe_return_path(path).is_none() || path.contains(['?', '#']) {
                // A path that only needs encoding says so, with its form.
                let encoded = crate::origin::as_browsers_send_it(path);
                let hint = if encoded != *path
                    && safe_return_path(&encoded).is_some()
                    && !encoded.contains(['?', '#'])
                {
                    format!(" (write it percent-encoded, as a browser sends it: {encoded:?})")
                } else {
                    String::new()
                };
                return Err(format!(
                    "the {name} path {path:?} is not an absolute path on the app's origin{hint}"
                ));
            }
        }
        // Each route against those before it, the error page against all.
        let (routes, pages) = all.split_at(6);
        for (i, (name, path)) in routes.iter().chain(&pages[..1]).enumerate() {
            if let Some((other, _)) = routes[..i.min(6)].iter().find(|(_, p)| p == path) {
                return Err(format!(
                    "the {name} path {path:?} is the {other} route's too"
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_layout_is_this_apps() {
        let p = Paths::default();
        assert_eq!(p.authorize, "/api/auth/authorize");
        assert_eq!(p.callback, "/api/auth/callback");
        assert_eq!(p.session, "/api/auth/session");
        assert_eq!(p.signout, "/api/auth/signout");
        assert_eq!(p.validate_token, "/api/validate-token");
        assert_eq!(p.user_info, "/api/user-info");
        assert_eq!(p.error_page, "/auth/error");
        assert_eq!(p.default_return, "/profile");
        assert_eq!(p.check(), Ok(()));
    }

    /// Two routes on one path (one never reached), or the error page on a
    /// route's path (an error there would loop), are refused.
    #[test]
    fn a_path_two_routes_share_or_an_error_page_on_a_route_is_refused() {
        let mut p = Paths::default();
        p.error_page = p.authorize.clone();
        let error = p.check().unwrap_err();
        assert!(
            error.contains("error_page") && error.contains("authorize"),
            "{error}"
        );
        let mut p = Paths::default();
        p.user_info = p.session.clone();
        let error = p.check().unwrap_err();
        assert!(
            error.contains("user_info") && error.contains("session"),
            "{error}"
        );
        // Where a sign-in returns may be any page, a route's too.
        let mut p = Paths::default();
        p.default_return = p.user_info.clone();
        assert_eq!(p.check(), Ok(()));
    }

    #[test]
    fn another_base_moves_the_sign_in_routes() {
        let p = Paths::with_base("/api/login/");
        assert_eq!(p.callback, "/api/login/callback");
        assert_eq!(p.signout, "/api/login/signout");
        assert_eq!(p.user_info, "/api/user-info");
        assert_eq!(p.check(), Ok(()));
    }

    #[test]
    fn paths_that_are_not_plain_paths_are_refused() {
        for bad in [
            "api/auth",
            "//evil.example",
            "/a/../b",
            "/a?x=1",
            "https://x",
        ] {
            let p = Paths {
                error_page: bad.to_owned(),
                ..Paths::default()
            };
            assert!(p.check().unwrap_err().contains("error_page"), "{bad}");
        }
        assert!(Paths::with_base("//evil").check().is_err());
    }

    /// A configured path with a space or a non-ASCII character is
    /// refused with the form to write instead; one that encoding would
    /// not mend gets no such hint.
    #[test]
    fn a_path_that_only_needs_encoding_is_refused_with_its_encoded_form() {
        let with = |page: &str| Paths {
            default_return: page.to_owned(),
            ..Paths::default()
        };
        let refused = with("/café").check().unwrap_err();
        assert!(refused.contains("\"/caf%C3%A9\""), "{refused}");
        assert_eq!(with("/caf%C3%A9").check(), Ok(()));
        for unmended in ["//évil.example", "/café?x=1"] {
            let refused = with(unmended).check().unwrap_err();
            assert!(!refused.contains("percent-encoded"), "{refused}");
        }
    }
}
