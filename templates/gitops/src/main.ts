/**
 * The platform program: `npx projen synth` (or `npx cdk-mlops synth`) runs this file and writes
 * dist/<env>/ for every environment. The platform itself is defined in ./app.ts.
 */
import { createApp } from './app';

createApp();
