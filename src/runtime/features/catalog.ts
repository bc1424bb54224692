import * as path from 'node:path';
import {
  FEATURES_ENV_PREFIX, FeatureRegistry, FeatureServiceDefinition, FeatureValueType, FeatureViewDefinition,
  JoinKeyType, featureRegistrySchema, parseFeatureRef,
} from '../config/features';
import { loadConfigFile, parseConfig } from '../config/load';
import { InputError, NotFoundError, describeValue } from '../errors';

/** A join key column of a view, with its type. */
export interface JoinKeyColumn {
  readonly name: string;
  readonly valueType: JoinKeyType;
}

/** A feature view resolved against its entities. */
export interface ResolvedView {
  readonly definition: FeatureViewDefinition;
  readonly name: string;
  /** Join key columns in the order of the view's entities. */
  readonly joinKeys: readonly JoinKeyColumn[];
  readonly features: ReadonlyMap<string, FeatureValueType>;
  /** Source path, resolved against the offline store root. */
  readonly sourcePath: string;
}

/** One requested feature, resolved. */
export interface ResolvedFeature {
  readonly view: ResolvedView;
  readonly feature: string;
  readonly valueType: FeatureValueType;
  /** The name in responses and training sets: `feature`, or `view__feature` with full names. */
  readonly outputName: string;
}

/** Joins a root and a path; `s3://` and absolute paths are kept as they are. */
export function resolveOfflinePath(root: string, p: string): string {
  if (/^s3:\/\//.test(p) || path.isAbsolute(p)) return p;
  if (/^s3:\/\//.test(root)) return `${root.replace(/\/+$/, '')}/${p.replace(/^\.?\/+/, '')}`;
  return path.resolve(root, p);
}

/**
 * The registry, indexed for the runtime: views with their key columns, feature services, and
 * the resolution of feature references (`view:feature` lists or a service name).
 */
export class FeatureCatalog {
  /** Reads and validates a registry file (JSON or YAML) with environment overrides. */
  public static fromFile(file: string, env: NodeJS.ProcessEnv = process.env): FeatureCatalog {
    const registry = loadConfigFile(featureRegistrySchema, file, FEATURES_ENV_PREFIX, env);
    const root = resolveOfflinePath(path.dirname(path.resolve(file)), registry.offlineStore.root);
    return new FeatureCatalog(registry, root);
  }

  /** Validates a registry object. */
  public static fromObject(doc: unknown, baseDir: string = process.cwd()): FeatureCatalog {
    const registry = parseConfig(featureRegistrySchema, doc, 'feature registry');
    return new FeatureCatalog(registry, resolveOfflinePath(baseDir, registry.offlineStore.root));
  }

  public readonly registry: FeatureRegistry;
  /** Offline store root, absolute (or `s3://`). */
  public readonly offlineRoot: string;
  private readonly views = new Map<string, ResolvedView>();
  private readonly services = new Map<string, FeatureServiceDefinition>();

  private constructor(registry: FeatureRegistry, offlineRoot: string) {
    this.registry = registry;
    this.offlineRoot = offlineRoot;
    const entities = new Map(registry.entities.map((e) => [e.name, e]));
    for (const v of registry.featureViews) {
      const joinKeys = v.entities.map((name) => {
        const e = entities.get(name)!;
        return { name: e.joinKey ?? e.name, valueType: e.valueType };
      });
      this.views.set(v.name, {
        definition: v,
        name: v.name,
        joinKeys,
        features: new Map(v.features.map((f) => [f.name, f.valueType])),
        sourcePath: resolveOfflinePath(offlineRoot, v.source.path),
      });
    }
    for (const s of registry.featureServices) this.services.set(s.name, s);
  }

  /** All views, in registry order. */
  public viewList(): ResolvedView[] {
    return [...this.views.values()];
  }

  /** A view by name; NotFoundError naming the known views. */
  public view(name: string): ResolvedView {
    const v = this.views.get(name);
    if (!v) throw new NotFoundError(`unknown feature view '${name}'; known views: ${[...this.views.keys()].join(', ')}`);
    return v;
  }

  /** A service by name; NotFoundError naming the known services. */
  public service(name: string): FeatureServiceDefinition {
    const s = this.services.get(name);
    if (!s) {
      const known = [...this.services.keys()];
      throw new NotFoundError(`unknown feature service '${name}'; known services: ${known.length ? known.join(', ') : '(none)'}`);
    }
    return s;
  }

  /**
   * Resolves a request's features: either `features` (a list of `view:feature`) or
   * `featureService` (a name), not both. Names collide when two views have a feature of the
   * same name and full names are off: that is refused, as Feast does.
   */
  public resolveFeatures(req: { features?: unknown; featureService?: unknown; fullFeatureNames?: boolean }, where = 'request'): ResolvedFeature[] {
    let refs: string[];
    let source: string;
    if (req.features !== undefined && req.featureService !== undefined) {
      throw new InputError(where, "give either 'features' or 'feature_service', not both");
    }
    if (req.featureService !== undefined) {
      if (typeof req.featureService !== 'string') {
        throw new InputError(`${where}.feature_service`, `expected a feature service name (string), got ${describeValue(req.featureService)}`);
      }
      refs = [...this.service(req.featureService).features];
      source = `feature service '${req.featureService}'`;
    } else if (req.features !== undefined) {
      if (!Array.isArray(req.features) || req.features.length === 0) {
        throw new InputError(`${where}.features`, `expected a non-empty list of 'view:feature' references, got ${describeValue(req.features)}`);
      }
      refs = req.features as string[];
      source = `${where}.features`;
    } else {
      throw new InputError(where, "expected 'features' (a list of 'view:feature') or 'feature_service' (a name)");
    }
    const out: ResolvedFeature[] = [];
    const seen = new Map<string, string>();
    refs.forEach((ref, i) => {
      if (typeof ref !== 'string') throw new InputError(`${source}[${i}]`, `expected a 'view:feature' string, got ${describeValue(ref)}`);
      const parsed = parseFeatureRef(ref);
      if (!parsed) throw new InputError(`${source}[${i}]`, `${describeValue(ref)} is not a reference of the form 'view:feature'`);
      const view = this.views.get(parsed.view);
      if (!view) throw new NotFoundError(`${source}[${i}]: unknown feature view '${parsed.view}' in '${ref}'; known views: ${[...this.views.keys()].join(', ')}`);
      const valueType = view.features.get(parsed.feature);
      if (!valueType) {
        throw new NotFoundError(`${source}[${i}]: feature view '${parsed.view}' has no feature '${parsed.feature}'; it has ${[...view.features.keys()].join(', ')}`);
      }
      const outputName = req.fullFeatureNames ? `${parsed.view}__${parsed.feature}` : parsed.feature;
      const previous = seen.get(outputName);
      if (previous === ref) throw new InputError(`${source}[${i}]`, `'${ref}' is requested twice`);
      if (previous !== undefined) {
        throw new InputError(`${source}[${i}]`, `'${ref}' and '${previous}' would both be named '${outputName}'; set full_feature_names to get 'view__feature' names`);
      }
      seen.set(outputName, ref);
      out.push({ view, feature: parsed.feature, valueType, outputName });
    });
    return out;
  }
}
