// Bundle a TypeScript entry point into one CommonJS file for Debian's nodejs
// in the image (used for the web UI's CGI and the installer). Deterministic
// for the same sources.
import { build, type Plugin } from 'esbuild';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface BundleOptions {
  entry: string;
  outfile: string;
  /** a line saying what the file is, after the #! line */
  comment: string;
  define?: Record<string, string>;
  alias?: Record<string, string>;
  plugins?: Plugin[];
}

export async function bundleNodeScript(o: BundleOptions): Promise<string> {
  await build({
    entryPoints: [o.entry],
    outfile: o.outfile,
    bundle: true,
    platform: 'node',
    target: 'node18',
    format: 'cjs',
    minify: true,
    legalComments: 'none',
    banner: { js: `#!/usr/bin/node\n// ${o.comment}` },
    define: o.define,
    alias: o.alias,
    logLevel: 'error',
    plugins: o.plugins,
  });
  return o.outfile;
}

/**
 * When the module at `moduleUrl` is run as a script (`tsx X/bundle.ts OUT_DIR`),
 * build into OUT_DIR with `buildTree` and print the folder.
 */
export async function runBundleScript(moduleUrl: string, buildTree: (outDir: string) => Promise<string>): Promise<void> {
  const self = fileURLToPath(moduleUrl);
  if (!process.argv[1] || resolve(process.argv[1]) !== self) return;
  const dir = process.argv[2];
  if (!dir) {
    console.error(`usage: tsx ${self} OUT_DIR`);
    process.exit(2);
  }
  console.log(await buildTree(dir));
}
