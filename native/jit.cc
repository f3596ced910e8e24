// TorchScript modules saved by PyTorch (torch.jit.save), loaded and run through libtorch's JIT.
// The only file that includes <torch/script.h> (it compiles slowly). Modules cross into JS as
// externals, like tensors; inputs and outputs are tensor handles.
#include <torch/script.h>
#include <atomic>
#include <sstream>
#include "handle.h"

namespace dlkit {

// The box outlives jitFree() so that a freed module can say so; the External's finalizer deletes it.
struct ModuleBox {
  c10::optional<torch::jit::Module> module;
  std::string source;  // the file, or '<bytes>', for error messages
};

static std::atomic<int64_t> liveModules{0};

static void releaseModule(ModuleBox* box) {
  if (!box->module) return;
  box->module.reset();
  liveModules.fetch_sub(1, std::memory_order_relaxed);
}

static ModuleBox* moduleBoxOf(const Napi::Value& v, const char* what) {
  if (!v.IsExternal()) throw Napi::TypeError::New(v.Env(), std::string(what) + ": expected a TorchScript module handle");
  return v.As<Napi::External<ModuleBox>>().Data();
}

static torch::jit::Module& moduleOf(const Napi::Value& v, const char* what) {
  ModuleBox* box = moduleBoxOf(v, what);
  if (!box->module) throw Napi::Error::New(v.Env(), std::string(what) + ": the TorchScript module was disposed");
  return *box->module;
}

static c10::optional<c10::Device> deviceArg(const Napi::Value& v) {
  if (v.IsString()) return c10::Device(v.As<Napi::String>().Utf8Value());
  return c10::Device(at::kCPU);  // a module saved on a GPU still loads on a machine without one
}

// The extra files to read: libtorch fills only the names it is given (the caller lists them
// from the archive's directory).
static torch::jit::ExtraFilesMap extraArg(const Napi::Value& v) {
  torch::jit::ExtraFilesMap extra;
  if (v.IsArray()) {
    auto arr = v.As<Napi::Array>();
    for (uint32_t i = 0; i < arr.Length(); i++) extra[arr.Get(i).As<Napi::String>().Utf8Value()] = "";
  }
  return extra;
}

// -> { module, extraFiles: { name: contents } }
static Napi::Value wrapModule(Napi::Env env, torch::jit::Module module, std::string source, const torch::jit::ExtraFilesMap& extra) {
  auto* box = new ModuleBox{std::move(module), std::move(source)};
  liveModules.fetch_add(1, std::memory_order_relaxed);
  auto handle = Napi::External<ModuleBox>::New(env, box, [](Napi::Env, ModuleBox* b) {
    releaseModule(b);
    delete b;
  });
  auto files = Napi::Object::New(env);
  for (const auto& [name, contents] : extra) files.Set(name, Napi::String::New(env, contents));
  auto out = Napi::Object::New(env);
  out.Set("module", handle);
  out.Set("extraFiles", files);
  return out;
}

// jitLoad(path, extraFileNames?, device?) -> { module, extraFiles }
static Napi::Value jitLoad(const Napi::CallbackInfo& info) {
  std::string file = info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
  return guarded(info, "jitLoad " + file, [&]() -> Napi::Value {
    if (!info[0].IsString()) throw Napi::TypeError::New(info.Env(), "jitLoad: expected a file path");
    auto extra = extraArg(info[1]);
    torch::jit::Module m = torch::jit::load(file, deviceArg(info[2]), extra);
    return wrapModule(info.Env(), std::move(m), file, extra);
  });
}

// jitLoadBuffer(bytes: Uint8Array, extraFileNames?, device?) -> { module, extraFiles }
static Napi::Value jitLoadBuffer(const Napi::CallbackInfo& info) {
  return guarded(info, "jitLoadBuffer", [&]() -> Napi::Value {
    if (!info[0].IsTypedArray()) throw Napi::TypeError::New(info.Env(), "jitLoadBuffer: expected a Uint8Array");
    auto arr = info[0].As<Napi::TypedArray>();
    const char* data = static_cast<const char*>(arr.ArrayBuffer().Data()) + arr.ByteOffset();
    std::istringstream in(std::string(data, arr.ByteLength()));
    auto extra = extraArg(info[1]);
    torch::jit::Module m = torch::jit::load(in, deviceArg(info[2]), extra);
    return wrapModule(info.Env(), std::move(m), "<bytes>", extra);
  });
}

static Napi::Value jitFree(const Napi::CallbackInfo& info) {
  if (info[0].IsExternal()) releaseModule(moduleBoxOf(info[0], "jitFree"));
  return info.Env().Undefined();
}

static Napi::Value jitLiveModuleCount(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), double(liveModules.load()));
}

// jitTrain(module, on): eval() / train() on the module and its submodules.
static Napi::Value jitTrain(const Napi::CallbackInfo& info) {
  return guarded(info, "jitTrain", [&]() -> Napi::Value {
    moduleOf(info[0], "jitTrain").train(info[1].ToBoolean());
    return info.Env().Undefined();
  });
}

static Napi::Value jitIsTraining(const Napi::CallbackInfo& info) {
  return guarded(info, "jitIsTraining", [&]() -> Napi::Value {
    return Napi::Boolean::New(info.Env(), moduleOf(info[0], "jitIsTraining").is_training());
  });
}

// jitTo(module, device): moves parameters and buffers.
static Napi::Value jitTo(const Napi::CallbackInfo& info) {
  return guarded(info, "jitTo", [&]() -> Napi::Value {
    moduleOf(info[0], "jitTo").to(c10::Device(info[1].As<Napi::String>().Utf8Value()));
    return info.Env().Undefined();
  });
}

// jitStateDict(module) -> [[name, handle], ...] in PyTorch's state_dict order: module by
// module, each one's own parameters, then its buffers. The handles share the module's storage.
static Napi::Value jitStateDict(const Napi::CallbackInfo& info) {
  return guarded(info, "jitStateDict", [&]() -> Napi::Value {
    auto env = info.Env();
    auto& root = moduleOf(info[0], "jitStateDict");
    std::vector<std::pair<std::string, at::Tensor>> entries;
    for (const auto& sub : root.named_modules()) {
      std::string prefix = sub.name.empty() ? "" : sub.name + ".";
      for (const auto& p : sub.value.named_parameters(false)) entries.emplace_back(prefix + p.name, p.value.detach());
      for (const auto& b : sub.value.named_buffers(false)) entries.emplace_back(prefix + b.name, b.value.detach());
    }
    auto out = Napi::Array::New(env, entries.size());
    for (size_t i = 0; i < entries.size(); i++) {
      auto pair = Napi::Array::New(env, 2);
      pair.Set(0u, Napi::String::New(env, entries[i].first));
      pair.Set(1u, wrapTensor(env, std::move(entries[i].second)));
      out.Set(uint32_t(i), pair);
    }
    return out;
  });
}

// jitParameterNames(module) -> names of the learnable parameters (recursively).
static Napi::Value jitParameterNames(const Napi::CallbackInfo& info) {
  return guarded(info, "jitParameterNames", [&]() -> Napi::Value {
    auto env = info.Env();
    std::vector<std::string> names;
    for (const auto& p : moduleOf(info[0], "jitParameterNames").named_parameters(true)) names.push_back(p.name);
    auto out = Napi::Array::New(env, names.size());
    for (size_t i = 0; i < names.size(); i++) out.Set(uint32_t(i), Napi::String::New(env, names[i]));
    return out;
  });
}

// jitMethods(module) -> [[name, schema], ...]
static Napi::Value jitMethods(const Napi::CallbackInfo& info) {
  return guarded(info, "jitMethods", [&]() -> Napi::Value {
    auto env = info.Env();
    auto methods = moduleOf(info[0], "jitMethods").get_methods();
    auto out = Napi::Array::New(env, methods.size());
    for (size_t i = 0; i < methods.size(); i++) {
      std::ostringstream schema;
      schema << methods[i].function().getSchema();
      auto pair = Napi::Array::New(env, 2);
      pair.Set(0u, Napi::String::New(env, methods[i].name()));
      pair.Set(1u, Napi::String::New(env, schema.str()));
      out.Set(uint32_t(i), pair);
    }
    return out;
  });
}

// What a method may return: a tensor, or tuples, lists and str-keyed dicts of them (nested).
// Checked over the whole value before any handle is made, so a bad leaf leaks nothing.
static void checkReturn(const c10::IValue& v, const std::string& where) {
  if (v.isTensor()) return;
  if (v.isTuple()) {
    for (const auto& e : v.toTupleRef().elements()) checkReturn(e, where);
    return;
  }
  if (v.isList()) {
    for (const auto& e : v.toListRef()) checkReturn(e, where);
    return;
  }
  if (v.isGenericDict()) {
    for (const auto& e : v.toGenericDict()) {
      if (!e.key().isString())
        throw std::runtime_error(where + " returned a dict with " + e.key().type()->annotation_str() + " keys; dlkit takes dicts with str keys");
      checkReturn(e.value(), where);
    }
    return;
  }
  throw std::runtime_error(where + " returned a value of type " + v.type()->annotation_str() +
                           "; dlkit takes a Tensor, or tuples, lists and Dict[str, ...] of tensors");
}

static Napi::Value toJs(Napi::Env env, const c10::IValue& v) {
  if (v.isTensor()) return wrapTensor(env, v.toTensor());
  if (v.isTuple() || v.isList()) {
    std::vector<c10::IValue> items;
    if (v.isTuple()) items = v.toTupleRef().elements().vec();
    else for (const auto& e : v.toListRef()) items.push_back(e);
    auto arr = Napi::Array::New(env, items.size());
    for (size_t i = 0; i < items.size(); i++) arr.Set(uint32_t(i), toJs(env, items[i]));
    return arr;
  }
  auto obj = Napi::Object::New(env);
  for (const auto& e : v.toGenericDict()) obj.Set(e.key().toStringRef(), toJs(env, e.value()));
  return obj;
}

// jitRun(module, methodName, inputs: handle[]) -> handle | array | object, without autograd.
static Napi::Value jitRun(const Napi::CallbackInfo& info) {
  std::string method = info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "forward";
  std::string where = "TorchScript " + method;
  return guarded(info, where, [&]() -> Napi::Value {
    auto env = info.Env();
    ModuleBox* box = moduleBoxOf(info[0], "jitRun");
    auto& m = moduleOf(info[0], "jitRun");
    auto found = m.find_method(method);
    if (!found) throw Napi::Error::New(env, where + ": " + box->source + " has no method '" + method + "'");
    if (!info[2].IsArray()) throw Napi::TypeError::New(env, where + ": inputs must be an array of tensor handles");
    auto arr = info[2].As<Napi::Array>();
    std::vector<c10::IValue> inputs;
    for (uint32_t i = 0; i < arr.Length(); i++) inputs.emplace_back(tensorOf(arr.Get(i), "jitRun"));
    c10::IValue out;
    {
      // Not InferenceMode: its outputs refuse later in-place ops outside it, which dlkit code makes.
      torch::NoGradGuard noGrad;
      out = (*found)(std::move(inputs));
    }
    checkReturn(out, method);
    return toJs(env, out);
  });
}

void registerJitFunctions(Napi::Env env, Napi::Object exports) {
  exports.Set("jitLoad", Napi::Function::New(env, jitLoad));
  exports.Set("jitLoadBuffer", Napi::Function::New(env, jitLoadBuffer));
  exports.Set("jitFree", Napi::Function::New(env, jitFree));
  exports.Set("jitLiveModuleCount", Napi::Function::New(env, jitLiveModuleCount));
  exports.Set("jitTrain", Napi::Function::New(env, jitTrain));
  exports.Set("jitIsTraining", Napi::Function::New(env, jitIsTraining));
  exports.Set("jitTo", Napi::Function::New(env, jitTo));
  exports.Set("jitStateDict", Napi::Function::New(env, jitStateDict));
  exports.Set("jitParameterNames", Napi::Function::New(env, jitParameterNames));
  exports.Set("jitMethods", Napi::Function::New(env, jitMethods));
  exports.Set("jitRun", Napi::Function::New(env, jitRun));
}

}  // namespace dlkit
