#include "handle.h"

namespace dlkit {

std::atomic<int64_t> liveTensors{0};

static int64_t ownedBytes(const at::Tensor& t) {
  // Views share their base's storage: count memory once, at the handle that made it.
  if (!t.defined() || t.is_view() || !t.has_storage()) return 0;
  return static_cast<int64_t>(t.storage().nbytes());
}

void releaseBox(Napi::Env env, TensorBox* box) {
  if (!box->tensor.defined()) return;  // already released
  if (box->reportedBytes) Napi::MemoryManagement::AdjustExternalMemory(env, -box->reportedBytes);
  box->reportedBytes = 0;
  box->tensor.reset();
  liveTensors.fetch_sub(1, std::memory_order_relaxed);
}

Napi::Value wrapTensor(Napi::Env env, at::Tensor tensor) {
  if (!tensor.defined()) return env.Null();
  auto* box = new TensorBox{std::move(tensor), 0};
  box->reportedBytes = ownedBytes(box->tensor);
  if (box->reportedBytes) Napi::MemoryManagement::AdjustExternalMemory(env, box->reportedBytes);
  liveTensors.fetch_add(1, std::memory_order_relaxed);
  return Napi::External<TensorBox>::New(env, box, [](Napi::Env env, TensorBox* b) {
    if (b->tensor.defined()) releaseBox(env, b);
    delete b;
  });
}

TensorBox* boxOf(const Napi::Value& value, const char* what) {
  if (!value.IsExternal())
    throw Napi::TypeError::New(value.Env(), std::string(what) + ": expected a tensor handle");
  return value.As<Napi::External<TensorBox>>().Data();
}

const at::Tensor& tensorOf(const Napi::Value& value, const char* what) {
  TensorBox* box = boxOf(value, what);
  if (!box->tensor.defined())
    throw Napi::Error::New(value.Env(), std::string(what) + ": the tensor was disposed");
  return box->tensor;
}

}  // namespace dlkit
