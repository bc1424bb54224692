/**
 * ONNX model writing for the built-in trainers: a protobufjs definition of the needed subset
 * of `onnx.proto` and a graph builder with a fixed IR version and opset.
 */
export { AttributeType, TensorDataType, type TensorDataTypeValue } from './proto';
export {
  ONNX_IR_VERSION,
  ONNX_OPSET,
  ONNX_PRODUCER,
  OnnxGraphBuilder,
  readModelSummary,
  type Attribute,
  type Dim,
  type ModelOptions,
  type ModelSummary,
  type TensorData,
} from './builder';
