// The ONNX schema and TensorProto conversion on the conformance data's own files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { decodeModel, decodeTensor, tensorFromProto, tensorToProto, encodeTensorProto, OnnxError } from '../../src/io/onnx/proto.js';
import * as dl from '../../src/index.js';
import { noLeaks } from '../helpers.js';

const DATA = '/usr/share/libonnx-testdata/data/node/test_conv_with_strides_padding';

test('a conformance model and its input decode; TensorProto round-trips through a dlkit tensor', () => noLeaks(() => {
  const model = decodeModel(readFileSync(`${DATA}/model.onnx`));
  assert.equal(model.graph!.node![0]!.op_type, 'Conv');
  const t = tensorFromProto(decodeTensor(readFileSync(`${DATA}/test_data_set_0/input_0.pb`)));
  assert.deepEqual(t.shape, [1, 1, 7, 5]);
  const back = tensorFromProto(decodeTensor(encodeTensorProto(tensorToProto(t, 'x'))));
  assert.deepEqual([...back.dataSync() as Float32Array], [...t.dataSync() as Float32Array]);
  dl.dispose([t, back]);
}));

test('typed *_data fields and size errors', () => noLeaks(() => {
  const t = tensorFromProto({ name: 'c', dims: [2], data_type: 7, int64_data: [3, -4] });
  assert.deepEqual([...t.dataSync() as BigInt64Array], [3n, -4n]);
  t.dispose();
  assert.throws(() => tensorFromProto({ name: 'c', dims: [3], data_type: 1, float_data: [1, 2] }, { file: 'm.onnx' }), /m\.onnx: tensor 'c' of 3 values has 2 in float_data/);
  assert.throws(() => tensorFromProto({ name: 'u', dims: [1], data_type: 12 }, { file: 'm.onnx' }), OnnxError);
  assert.throws(() => decodeModel(new Uint8Array([0xff, 0xff, 0xff]), 'bad.onnx'), /bad\.onnx: not a valid ONNX ModelProto/);
}));
