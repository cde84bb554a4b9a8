/**
 * Jest's node environment with the process's own Float32Array. Jest runs each test file in a VM
 * context with typed-array constructors of its own; onnxruntime-node's native code makes its output
 * tensors with the process's, and its JavaScript side then refuses them as "not a Float32Array".
 * Outside Jest there is one realm and nothing to do.
 */
const { TestEnvironment } = require('jest-environment-node');

class BridgeEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    this.global.Float32Array = Float32Array;
  }
}

module.exports = BridgeEnvironment;
