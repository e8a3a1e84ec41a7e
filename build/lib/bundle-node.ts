// Bundle a TypeScript entry point into one CommonJS file for Debian's nodejs
// in the image (used for the web UI's CGI and the installer). Deterministic
// for the same sources.
import { build, type Plugin } from 'esbuild';

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
