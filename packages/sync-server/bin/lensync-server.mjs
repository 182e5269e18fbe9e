#!/usr/bin/env node
// The lensync-server command: runs the compiled dist/cli.js, plain Node, no
// TypeScript loader. `#cli` is a subpath import of this package (see
// "imports" in package.json): inside the monorepo, development runs the
// TypeScript source with `node --import tsx --conditions=@lensync/source`,
// which resolves `#cli` to src/cli.ts instead, so no build is needed there.
import { main } from '#cli'

await main(process.argv.slice(2))
