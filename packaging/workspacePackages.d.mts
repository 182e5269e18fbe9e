// Types of workspacePackages.mjs (plain JavaScript: the prepack scripts run it without TypeScript).

/** A publishable workspace package. */
export interface WorkspacePackage {
  /** The package name, e.g. `@lensync/store`. */
  readonly name: string
  /** The absolute package directory. */
  readonly dir: string
  /** The directory relative to the root, e.g. `packages/store`. */
  readonly path: string
  /** The parsed package.json. */
  readonly manifest: PackageManifest
}

/** The parts of a package.json the scripts read. */
export interface PackageManifest {
  readonly name: string
  readonly private?: boolean
  readonly dependencies?: Readonly<Record<string, string>>
  readonly peerDependencies?: Readonly<Record<string, string>>
  readonly [field: string]: unknown
}

/** The repository root (absolute, with a trailing separator). */
export declare const repoRoot: string

/** Every non-private workspace package under packages/, dependencies first. */
export declare function publishablePackages(): WorkspacePackage[]

/** The package and the publishable workspace packages it needs, transitively, in build order. */
export declare function withDependencies(name: string): WorkspacePackage[]
