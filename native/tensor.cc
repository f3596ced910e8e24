// Tensor lifetime, data in and out, metadata, autograd and engine settings.
// Hand-written because these are not ATen ops; everything else goes through ops.cc.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>
#include <c10/core/GradMode.h>
#include <cstring>
#include "handle.h"

namespace dlkit {

static std::vector<int64_t> shapeArg(const Napi::Value& v, const char* what) {
  if (!v.IsArray()) throw Napi::TypeError::New(v.Env(), std::string(what) + ": shape must be an array of integers");
  auto arr = v.As<Napi::Array>();
  std::vector<int64_t> shape(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Value d = arr.Get(i);
    if (!d.IsNumber()) throw Napi::TypeError::New(v.Env(), std::string(what) + ": shape must be an array of integers");
    shape[i] = d.As<Napi::Number>().Int64Value();
  }
  return shape;
}

// fromBuffer(typedArray, shape, scalarTypeCode) -> handle. Copies the bytes.
static Napi::Value fromBuffer(const Napi::CallbackInfo& info) {
  return guarded(info, "fromBuffer", [&]() -> Napi::Value {
    auto env = info.Env();
    if (!info[0].IsTypedArray()) throw Napi::TypeError::New(env, "fromBuffer: expected a typed array");
    auto arr = info[0].As<Napi::TypedArray>();
    auto shape = shapeArg(info[1], "fromBuffer");
    auto dtype = static_cast<at::ScalarType>(info[2].As<Napi::Number>().Int32Value());
    at::Tensor t = at::empty(shape, at::TensorOptions().dtype(dtype));
    size_t need = t.nbytes();
    if (arr.ByteLength() != need)
      throw Napi::RangeError::New(env, "fromBuffer: " + std::to_string(arr.ByteLength()) + " bytes given, shape needs " + std::to_string(need));
    auto* src = static_cast<uint8_t*>(arr.ArrayBuffer().Data()) + arr.ByteOffset();
    if (need) std::memcpy(t.data_ptr(), src, need);
    return wrapTensor(env, std::move(t));
  });
}

// toBuffer(handle) -> ArrayBuffer with the tensor's values, contiguous, on the CPU.
static Napi::Value toBuffer(const Napi::CallbackInfo& info) {
  return guarded(info, "toBuffer", [&]() -> Napi::Value {
    at::Tensor t = tensorOf(info[0], "toBuffer");
    c10::AutoGradMode noGrad(false);
    t = t.to(at::kCPU).contiguous();
    auto buf = Napi::ArrayBuffer::New(info.Env(), t.nbytes());
    if (t.nbytes()) std::memcpy(buf.Data(), t.data_ptr(), t.nbytes());
    return buf;
  });
}

// Copies a tensor out on a worker thread; resolves with an ArrayBuffer.
class CopyOutWorker : public Napi::AsyncWorker {
 public:
  CopyOutWorker(Napi::Env env, at::Tensor t) : Napi::AsyncWorker(env), tensor_(std::move(t)), deferred_(env) {}
  void Execute() override {
    try {
      c10::AutoGradMode noGrad(false);
      at::Tensor c = tensor_.to(at::kCPU).contiguous();
      bytes_.resize(c.nbytes());
      if (c.nbytes()) std::memcpy(bytes_.data(), c.data_ptr(), c.nbytes());
    } catch (const c10::Error& e) {
      SetError(std::string("toBufferAsync: ") + e.what_without_backtrace());
    }
    tensor_.reset();
  }
  void OnOK() override {
    auto buf = Napi::ArrayBuffer::New(Env(), bytes_.size());
    if (!bytes_.empty()) std::memcpy(buf.Data(), bytes_.data(), bytes_.size());
    deferred_.Resolve(buf);
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }
  Napi::Promise promise() { return deferred_.Promise(); }

 private:
  at::Tensor tensor_;
  std::vector<uint8_t> bytes_;
  Napi::Promise::Deferred deferred_;
};

static Napi::Value toBufferAsync(const Napi::CallbackInfo& info) {
  return guarded(info, "toBufferAsync", [&]() -> Napi::Value {
    auto* w = new CopyOutWorker(info.Env(), tensorOf(info[0], "toBufferAsync"));
    auto p = w->promise();
    w->Queue();
    return p;
  });
}

// On the C API: called once per tensor, as often as the ops that make them.
static napi_value dispose(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 1;
  napi_value arg = nullptr;
  napi_get_cb_info(env, cbinfo, &argc, &arg, nullptr, nullptr);
  if (argc >= 1) {
    if (Slot* slot = trySlotOf(env, arg)) releaseSlot(env, slot);
  }
  return nullptr;
}

static Napi::Value isDisposed(const Napi::CallbackInfo& info) {
  Slot* slot = slotOf(info[0], "isDisposed");
  return Napi::Boolean::New(info.Env(), !slot || !slot->tensor.defined());
}

// meta(handle) -> [shape, scalarTypeCode, deviceString, requiresGrad]
static Napi::Value meta(const Napi::CallbackInfo& info) {
  return guarded(info, "meta", [&]() -> Napi::Value {
    auto env = info.Env();
    const at::Tensor& t = tensorOf(info[0], "meta");
    auto sizes = t.sizes();
    auto shape = Napi::Array::New(env, sizes.size());
    for (size_t i = 0; i < sizes.size(); i++) shape.Set(uint32_t(i), Napi::Number::New(env, double(sizes[i])));
    auto out = Napi::Array::New(env, 4);
    out.Set(0u, shape);
    out.Set(1u, Napi::Number::New(env, int(t.scalar_type())));
    out.Set(2u, Napi::String::New(env, t.device().str()));
    out.Set(3u, Napi::Boolean::New(env, t.requires_grad()));
    return out;
  });
}

static Napi::Value strides(const Napi::CallbackInfo& info) {
  return guarded(info, "strides", [&]() -> Napi::Value {
    auto env = info.Env();
    auto st = tensorOf(info[0], "strides").strides();
    auto out = Napi::Array::New(env, st.size());
    for (size_t i = 0; i < st.size(); i++) out.Set(uint32_t(i), Napi::Number::New(env, double(st[i])));
    return out;
  });
}

// isContiguous(handle, memoryFormatCode)
static Napi::Value isContiguous(const Napi::CallbackInfo& info) {
  return guarded(info, "isContiguous", [&]() -> Napi::Value {
    auto fmt = static_cast<at::MemoryFormat>(info[1].As<Napi::Number>().Int32Value());
    return Napi::Boolean::New(info.Env(), tensorOf(info[0], "isContiguous").is_contiguous(fmt));
  });
}

// ---- autograd -------------------------------------------------------------

static Napi::Value setRequiresGrad(const Napi::CallbackInfo& info) {
  return guarded(info, "setRequiresGrad", [&]() -> Napi::Value {
    at::Tensor t = tensorOf(info[0], "setRequiresGrad");
    t.set_requires_grad(info[1].ToBoolean());
    return info.Env().Undefined();
  });
}

static Napi::Value grad(const Napi::CallbackInfo& info) {
  return guarded(info, "grad", [&]() -> Napi::Value {
    const at::Tensor& g = tensorOf(info[0], "grad").grad();
    // Gradients usually accumulate in place: hand back the caller's handle for the same
    // tensor instead of a new one, so reading .grad each step does not create handles.
    if (g.defined() && info.Length() > 1 && info[1].IsBigInt()) {
      Slot* cached = slotOf(info[1], "grad");
      if (cached && cached->tensor.defined() && cached->tensor.unsafeGetTensorImpl() == g.unsafeGetTensorImpl()) return info[1];
    }
    return wrapTensor(info.Env(), g);  // null when undefined
  });
}

static Napi::Value clearGrad(const Napi::CallbackInfo& info) {
  return guarded(info, "clearGrad", [&]() -> Napi::Value {
    at::Tensor t = tensorOf(info[0], "clearGrad");
    t.mutable_grad().reset();
    return info.Env().Undefined();
  });
}

// backward(handle, gradHandle|null, retainGraph, createGraph)
static Napi::Value backward(const Napi::CallbackInfo& info) {
  return guarded(info, "backward", [&]() -> Napi::Value {
    const at::Tensor& t = tensorOf(info[0], "backward");
    at::Tensor g;
    if (info.Length() > 1 && info[1].IsBigInt()) g = tensorOf(info[1], "backward");
    c10::optional<bool> retain;
    if (info.Length() > 2 && info[2].IsBoolean()) retain = info[2].As<Napi::Boolean>().Value();
    bool create = info.Length() > 3 && info[3].ToBoolean();
    t.backward(g, retain, create);
    return info.Env().Undefined();
  });
}

static Napi::Value setGradEnabled(const Napi::CallbackInfo& info) {
  bool prev = c10::GradMode::is_enabled();
  c10::GradMode::set_enabled(info[0].ToBoolean());
  return Napi::Boolean::New(info.Env(), prev);
}

static Napi::Value isGradEnabled(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), c10::GradMode::is_enabled());
}

// Mixed precision: libtorch's autocast is a dispatch key, so every op called through the
// dispatcher (all of ours) picks it up. Per thread, like grad mode. Returns the previous state
// [enabled, scalar type] so a scope can restore it; leaving the outermost scope frees the
// cache of low-precision weight copies.
static Napi::Value setAutocast(const Napi::CallbackInfo& info) {
  return guarded(info, "setAutocast", [&]() -> Napi::Value {
    auto env = info.Env();
    auto prev = Napi::Array::New(env, 2);
    prev.Set(uint32_t(0), Napi::Boolean::New(env, at::autocast::is_cpu_enabled()));
    prev.Set(uint32_t(1), Napi::Number::New(env, double(static_cast<int>(at::autocast::get_autocast_cpu_dtype()))));
    bool on = info[0].ToBoolean();
    if (info.Length() > 1 && info[1].IsNumber()) {
      at::autocast::set_autocast_cpu_dtype(static_cast<at::ScalarType>(info[1].As<Napi::Number>().Int32Value()));
    }
    at::autocast::set_cpu_enabled(on);
    if (!on) at::autocast::clear_cache();
    return prev;
  });
}

// ---- engine settings --------------------------------------------------------

static Napi::Value manualSeed(const Napi::CallbackInfo& info) {
  return guarded(info, "manualSeed", [&]() -> Napi::Value {
    at::manual_seed(uint64_t(info[0].As<Napi::Number>().Int64Value()));
    return info.Env().Undefined();
  });
}

static Napi::Value setNumThreads(const Napi::CallbackInfo& info) {
  return guarded(info, "setNumThreads", [&]() -> Napi::Value {
    int n = info[0].As<Napi::Number>().Int32Value();
    if (n < 1) throw Napi::RangeError::New(info.Env(), "setNumThreads: expected a thread count >= 1, got " + std::to_string(n));
    at::set_num_threads(n);
    return info.Env().Undefined();
  });
}

static Napi::Value getNumThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), at::get_num_threads());
}

static Napi::Value liveTensorCount(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), double(liveTensors.load()));
}

static Napi::Value cudaAvailable(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), at::hasCUDA());
}

static Napi::Value buildInfo(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto out = Napi::Object::New(env);
  out.Set("config", at::show_config());
  out.Set("parallel", at::get_parallel_info());
  return out;
}

void registerTensorFunctions(Napi::Env env, Napi::Object exports) {
  exports.Set("fromBuffer", Napi::Function::New(env, fromBuffer));
  exports.Set("toBuffer", Napi::Function::New(env, toBuffer));
  exports.Set("toBufferAsync", Napi::Function::New(env, toBufferAsync));
  napi_value disposeFn;
  NAPI_THROW_IF_FAILED_VOID(env, napi_create_function(env, "dispose", NAPI_AUTO_LENGTH, dispose, nullptr, &disposeFn));
  exports.Set("dispose", Napi::Value(env, disposeFn));
  exports.Set("isDisposed", Napi::Function::New(env, isDisposed));
  exports.Set("meta", Napi::Function::New(env, meta));
  exports.Set("isContiguous", Napi::Function::New(env, isContiguous));
  exports.Set("strides", Napi::Function::New(env, strides));
  exports.Set("setRequiresGrad", Napi::Function::New(env, setRequiresGrad));
  exports.Set("grad", Napi::Function::New(env, grad));
  exports.Set("clearGrad", Napi::Function::New(env, clearGrad));
  exports.Set("backward", Napi::Function::New(env, backward));
  exports.Set("setGradEnabled", Napi::Function::New(env, setGradEnabled));
  exports.Set("isGradEnabled", Napi::Function::New(env, isGradEnabled));
  exports.Set("setAutocast", Napi::Function::New(env, setAutocast));
  exports.Set("manualSeed", Napi::Function::New(env, manualSeed));
  exports.Set("setNumThreads", Napi::Function::New(env, setNumThreads));
  exports.Set("getNumThreads", Napi::Function::New(env, getNumThreads));
  exports.Set("liveTensorCount", Napi::Function::New(env, liveTensorCount));
  exports.Set("cudaAvailable", Napi::Function::New(env, cudaAvailable));
  exports.Set("buildInfo", Napi::Function::New(env, buildInfo));
}

}  // namespace dlkit
