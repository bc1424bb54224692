// Registers cdktf's jest matchers (toHaveResourceWithProperties, ...). The product code reaches
// cdktf only through src/constructs/cloud/cdktf.ts; the type import below only adds the
// matchers' declarations to jest's types.
import type {} from 'cdktf/lib/testing/adapters/jest';
import { Testing } from '../../src/constructs/cloud/cdktf';

Testing.setupJest();
