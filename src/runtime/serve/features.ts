import type { ServedModel } from './model';

/**
 * Online feature enrichment (issue 6, point 5): turns a request that carries entity keys into
 * the model's full input, with one round trip to the feature server, before validation. The
 * result is an ordinary OIP inference request, validated like any other.
 */
export interface FeatureEnricher {
  /** Returns the request body to validate and run (the body itself when there is nothing to add). */
  enrich(body: unknown, model: ServedModel): Promise<unknown>;
  /** Releases connections. */
  close(): Promise<void>;
}
