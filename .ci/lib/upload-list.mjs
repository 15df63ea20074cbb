// The files `vercel deploy` would upload from a directory, one path per
// line, as the pinned CLI collects them (its client's
// inspectDeploymentFiles: the built-in ignore list and .vercelignore),
// offline. Usage: node upload-list.mjs <CLI's node_modules/vercel> <dir>
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [cli, dir] = process.argv.slice(2);
if (!cli || !dir) {
  console.error('usage: node upload-list.mjs <node_modules/vercel> <dir>');
  process.exit(2);
}
const chunks = join(cli, 'dist', 'chunks');
const chunk = readdirSync(chunks).find(
  (name) => name.endsWith('.js') && readFileSync(join(chunks, name), 'utf8').includes('inspectDeploymentFiles:'),
);
if (!chunk) {
  console.error(`upload-list: no chunk of ${chunks} exports the client's inspectDeploymentFiles`);
  process.exit(1);
}
const client = (await import(pathToFileURL(join(chunks, chunk)).href)).require_dist();
const { files } = await client.inspectDeploymentFiles({ path: resolve(dir), isDirectory: true });
for (const file of files) console.log(file.path);
