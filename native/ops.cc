// Calls any ATen operator by name through the c10 dispatcher. Arguments are converted from
// JS values as the operator's schema asks (looked up once per op and cached), so adding an op
// to the TypeScript API needs no C++. Autograd records boxed calls like any other.
#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/core/stack.h>
#include <ATen/ATen.h>
#include <cmath>
#include <mutex>
#include <sstream>
#include "handle.h"

namespace dlkit {

enum class Kind {
  Tensor, Int, Float, Bool, Scalar, String, Device, Enum,  // Enum: ScalarType, Layout, MemoryFormat (ints)
  TensorList, OptTensorList, IntList, FloatList, BoolList, Generator, Unsupported
};

struct ArgSpec {
  std::string name;
  Kind kind = Kind::Unsupported;
  bool optional = false;
  int fixedSize = 0;  // int[2] / bool[3]: a single value spreads to this many
  c10::optional<c10::IValue> defaultValue;
  std::string typeName;
};

struct OpEntry;
// An unboxed call for one common signature: converts the JS arguments straight to C++ ones and
// calls the operator's typed handle. Returns false (having done nothing) when an argument is
// not of the simple kind it takes; the generic path then converts it or reports the error.
using FastCall = bool (*)(napi_env env, const OpEntry& op, napi_value* argv, napi_value& out);

struct OpEntry {
  c10::OperatorHandle handle;
  std::string name;
  std::vector<ArgSpec> args;
  std::vector<int> returnAliasArg;  // for Tensor(a!) returns: the argument to hand back, else -1
  FastCall fast = nullptr;     // taken when every argument is given
  const void* typed = nullptr;  // the c10::TypedOperatorHandle that `fast` calls
};

// Entries never move or die, so worker threads (each with its own copy of the addon's JS
// side) can read them without a lock; only lookups that add an entry take the mutex.
constexpr size_t kMaxOps = 16384;
static OpEntry* ops[kMaxOps];
static std::atomic<size_t> opCount{0};
static std::unordered_map<std::string, int> opIds;
static std::mutex lookupMutex;

static Kind kindOf(const c10::TypePtr& t, bool& optional) {
  using K = c10::TypeKind;
  if (t->kind() == K::OptionalType) {
    optional = true;
    bool ignored = false;
    return kindOf(t->castRaw<c10::OptionalType>()->getElementType(), ignored);
  }
  switch (t->kind()) {
    case K::TensorType: return Kind::Tensor;
    case K::IntType: case K::SymIntType: return Kind::Int;
    case K::FloatType: return Kind::Float;
    case K::BoolType: return Kind::Bool;
    case K::NumberType: return Kind::Scalar;
    case K::StringType: return Kind::String;
    case K::DeviceObjType: return Kind::Device;
    case K::ScalarTypeType: case K::LayoutType: case K::MemoryFormatType: return Kind::Enum;
    case K::GeneratorType: return Kind::Generator;
    case K::ListType: {
      auto elem = t->castRaw<c10::ListType>()->getElementType();
      switch (elem->kind()) {
        case K::TensorType: return Kind::TensorList;
        case K::OptionalType:
          if (elem->castRaw<c10::OptionalType>()->getElementType()->kind() == K::TensorType) return Kind::OptTensorList;
          return Kind::Unsupported;
        case K::IntType: case K::SymIntType: return Kind::IntList;
        case K::FloatType: return Kind::FloatList;
        case K::BoolType: return Kind::BoolList;
        default: return Kind::Unsupported;
      }
    }
    default: return Kind::Unsupported;
  }
}

static const char* jsTypeName(const Napi::Value& v) {
  if (v.IsNull()) return "null";
  if (v.IsUndefined()) return "undefined";
  if (v.IsNumber()) return "number";
  if (v.IsBoolean()) return "boolean";
  if (v.IsString()) return "string";
  if (v.IsBigInt()) return isHandle(v.Env(), v) ? "tensor" : "bigint";
  if (v.IsArray()) return "array";
  return "object";
}

[[noreturn]] static void badArg(const Napi::Value& v, const OpEntry& op, const ArgSpec& a, const std::string& expected) {
  throw Napi::TypeError::New(v.Env(), op.name + ": argument '" + a.name + "' expects " + expected + " (" + a.typeName +
                                          "), got " + jsTypeName(v));
}

static int64_t toInt(const Napi::Value& v, const OpEntry& op, const ArgSpec& a) {
  if (v.IsNumber()) {
    double d = v.As<Napi::Number>().DoubleValue();
    if (std::trunc(d) != d) badArg(v, op, a, "a whole number");
    return static_cast<int64_t>(d);
  }
  if (v.IsBigInt() && !isHandle(v.Env(), v)) {
    bool lossless;
    return v.As<Napi::BigInt>().Int64Value(&lossless);
  }
  if (v.IsBoolean()) return v.As<Napi::Boolean>().Value() ? 1 : 0;
  badArg(v, op, a, "an integer");
}

// Converts one argument where the schema asks for a tensor, without building strings unless
// it fails: the common case of the hot path.
static c10::IValue tensorArg(napi_env env, napi_value v, const OpEntry& op, const ArgSpec& a) {
  Slot* slot = slotOf(env, v, op.name.c_str());
  if (!slot || !slot->tensor.defined()) throwDisposed(env, op.name + " argument '" + a.name + "'");
  return slot->tensor;
}

static c10::IValue toIValue(const Napi::Value& v, const OpEntry& op, const ArgSpec& a) {
  if (v.IsUndefined()) {
    if (a.defaultValue) return *a.defaultValue;
    if (a.optional) return c10::IValue();
    throw Napi::TypeError::New(v.Env(), op.name + ": missing argument '" + a.name + "' (" + a.typeName + ")");
  }
  if (v.IsNull()) {
    if (a.optional) return c10::IValue();
    badArg(v, op, a, "a value");
  }
  switch (a.kind) {
    case Kind::Tensor:
      if (!isHandle(v.Env(), v)) badArg(v, op, a, "a tensor");
      return tensorArg(v.Env(), v, op, a);
    case Kind::Int:
    case Kind::Enum:
      return toInt(v, op, a);
    case Kind::Float:
      if (!v.IsNumber()) badArg(v, op, a, "a number");
      return v.As<Napi::Number>().DoubleValue();
    case Kind::Bool:
      if (!v.IsBoolean()) badArg(v, op, a, "a boolean");
      return v.As<Napi::Boolean>().Value();
    case Kind::Scalar: {
      // A JS number cannot say int or float: whole numbers pass as int (Python's `x + 1`),
      // others as float; {float: x} forces a float where the dtype matters.
      if (v.IsNumber()) {
        double d = v.As<Napi::Number>().DoubleValue();
        if (std::trunc(d) == d && std::fabs(d) < 9007199254740992.0) return c10::Scalar(static_cast<int64_t>(d));
        return c10::Scalar(d);
      }
      if (v.IsBoolean()) return c10::Scalar(v.As<Napi::Boolean>().Value());
      if (v.IsBigInt() && !isHandle(v.Env(), v)) { bool l; return c10::Scalar(v.As<Napi::BigInt>().Int64Value(&l)); }
      if (v.IsObject() && v.As<Napi::Object>().Has("float"))
        return c10::Scalar(v.As<Napi::Object>().Get("float").As<Napi::Number>().DoubleValue());
      badArg(v, op, a, "a number");
    }
    case Kind::String:
      if (!v.IsString()) badArg(v, op, a, "a string");
      return v.As<Napi::String>().Utf8Value();
    case Kind::Device:
      if (!v.IsString()) badArg(v, op, a, "a device string such as 'cpu' or 'cuda:0'");
      return c10::Device(v.As<Napi::String>().Utf8Value());
    case Kind::Generator:
      badArg(v, op, a, "null (explicit generators are not supported; use manualSeed)");
    case Kind::IntList: {
      if (v.IsNumber() && a.fixedSize > 0) return std::vector<int64_t>(a.fixedSize, toInt(v, op, a));
      if (!v.IsArray()) badArg(v, op, a, "an array of integers");
      auto arr = v.As<Napi::Array>();
      std::vector<int64_t> out(arr.Length());
      for (uint32_t i = 0; i < arr.Length(); i++) out[i] = toInt(arr.Get(i), op, a);
      return out;
    }
    case Kind::FloatList: {
      if (!v.IsArray()) badArg(v, op, a, "an array of numbers");
      auto arr = v.As<Napi::Array>();
      c10::List<double> out;
      for (uint32_t i = 0; i < arr.Length(); i++) out.push_back(arr.Get(i).As<Napi::Number>().DoubleValue());
      return out;
    }
    case Kind::BoolList: {
      c10::List<bool> out;
      if (v.IsBoolean() && a.fixedSize > 0) {
        for (int i = 0; i < a.fixedSize; i++) out.push_back(v.As<Napi::Boolean>().Value());
        return out;
      }
      if (!v.IsArray()) badArg(v, op, a, "an array of booleans");
      auto arr = v.As<Napi::Array>();
      for (uint32_t i = 0; i < arr.Length(); i++) out.push_back(arr.Get(i).ToBoolean().Value());
      return out;
    }
    case Kind::TensorList: {
      if (!v.IsArray()) badArg(v, op, a, "an array of tensors");
      auto arr = v.As<Napi::Array>();
      c10::List<at::Tensor> out;
      out.reserve(arr.Length());
      for (uint32_t i = 0; i < arr.Length(); i++) {
        Napi::Value e = arr.Get(i);
        if (!isHandle(e.Env(), e)) badArg(e, op, a, "an array of tensors");
        out.push_back(tensorOf(e, op.name.c_str()));
      }
      return out;
    }
    case Kind::OptTensorList: {
      if (!v.IsArray()) badArg(v, op, a, "an array of tensors or nulls");
      auto arr = v.As<Napi::Array>();
      c10::List<c10::optional<at::Tensor>> out;
      for (uint32_t i = 0; i < arr.Length(); i++) {
        Napi::Value e = arr.Get(i);
        if (e.IsNull() || e.IsUndefined()) out.push_back(c10::nullopt);
        else out.push_back(tensorOf(e, op.name.c_str()));
      }
      return out;
    }
    case Kind::Unsupported:
    default:
      badArg(v, op, a, "a type dlkit cannot pass yet");
  }
}

static Napi::Value fromIValue(Napi::Env env, const c10::IValue& v) {
  if (v.isTensor()) return wrapTensor(env, v.toTensor());
  if (v.isNone()) return env.Null();
  if (v.isInt()) return Napi::Number::New(env, double(v.toInt()));
  if (v.isDouble()) return Napi::Number::New(env, v.toDouble());
  if (v.isBool()) return Napi::Boolean::New(env, v.toBool());
  if (v.isString()) return Napi::String::New(env, v.toStringRef());
  if (v.isTensorList()) {
    auto list = v.toTensorList();
    auto out = Napi::Array::New(env, list.size());
    for (size_t i = 0; i < list.size(); i++) out.Set(uint32_t(i), wrapTensor(env, list.get(i)));
    return out;
  }
  if (v.isIntList()) {
    auto list = v.toIntList();
    auto out = Napi::Array::New(env, list.size());
    for (size_t i = 0; i < list.size(); i++) out.Set(uint32_t(i), Napi::Number::New(env, double(list.get(i))));
    return out;
  }
  if (v.isDoubleList()) {
    auto list = v.toDoubleList();
    auto out = Napi::Array::New(env, list.size());
    for (size_t i = 0; i < list.size(); i++) out.Set(uint32_t(i), Napi::Number::New(env, list.get(i)));
    return out;
  }
  if (v.isTuple()) {
    auto& elems = v.toTupleRef().elements();
    auto out = Napi::Array::New(env, elems.size());
    for (size_t i = 0; i < elems.size(); i++) out.Set(uint32_t(i), fromIValue(env, elems[i]));
    return out;
  }
  throw Napi::TypeError::New(env, std::string("cannot return a value of type ") + v.tagKind() + " to JavaScript");
}

// ---- unboxed fast paths ----------------------------------------------------------------
// The boxed path builds an IValue per argument and a stack, and the dispatcher unboxes them
// again for the kernel (measured: ~500 instructions of a ~5000-instruction small op). The
// signatures most small ops have (elementwise math, activations, their in-place forms) skip
// that: tensors are passed by reference from their handles, scalars built on the stack.

// The live tensor behind a handle, or nullptr (not a handle, or disposed): no exceptions.
static inline at::Tensor* liveTensor(napi_env env, napi_value v) {
  Slot* slot = trySlotOf(env, v);
  return slot && slot->tensor.defined() ? &slot->tensor : nullptr;
}

// A JS number or boolean as the generic path converts it for a Scalar argument.
static inline bool scalarOf(napi_env env, napi_value v, c10::Scalar& out) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok) return false;
  if (t == napi_number) {
    double d;
    napi_get_value_double(env, v, &d);
    if (std::trunc(d) == d && std::fabs(d) < 9007199254740992.0) out = c10::Scalar(static_cast<int64_t>(d));
    else out = c10::Scalar(d);
    return true;
  }
  if (t == napi_boolean) {
    bool b;
    napi_get_value_bool(env, v, &b);
    out = c10::Scalar(b);
    return true;
  }
  return false;
}

template <class Sig>
static const c10::TypedOperatorHandle<Sig>& typedOf(const OpEntry& op) {
  return *static_cast<const c10::TypedOperatorHandle<Sig>*>(op.typed);
}

// Results: a new tensor gets a handle; an in-place op hands back its first argument's.
static inline void newResult(napi_env env, at::Tensor&& r, napi_value& out) { out = wrapTensor(env, std::move(r)); }

using T = at::Tensor;
using S = c10::Scalar;

static bool fastT(napi_env env, const OpEntry& op, napi_value* argv, napi_value& out) {
  T* a = liveTensor(env, argv[0]);
  if (!a) return false;
  newResult(env, typedOf<T(const T&)>(op).call(*a), out);
  return true;
}
static bool fastT_(napi_env env, const OpEntry& op, napi_value* argv, napi_value& out) {
  T* a = liveTensor(env, argv[0]);
  if (!a) return false;
  typedOf<T&(T&)>(op).call(*a);
  out = argv[0];
  return true;
}
static bool fastTT(napi_env env, const OpEntry& op, napi_value* argv, napi_value& out) {
  T* a = liveTensor(env, argv[0]);
  T* b = liveTensor(env, argv[1]);
  if (!a || !b) return false;
  newResult(env, typedOf<T(const T&, const T&)>(op).call(*a, *b), out);
  return true;
}
static bool fastTT_(napi_env env, const OpEntry& op, napi_value* argv, napi_value& out) {
  T* a = liveTensor(env, argv[0]);
  T* b = liveTensor(env, argv[1]);
  if (!a || !b) return false;
  typedOf<T&(T&, const T&)>(op).call(*a, *b);
  out = argv[0];
  return true;
}
static bool fastTS(napi_env env, const OpEntry& op, napi_value* argv, napi_value& out) {
  T* a = liveTensor(env, argv[0]);
  S s;
  if (!a || !scalarOf(env, argv[1], s)) return false;
  newResult(env, typedOf<T(const T&, const S&)>(op).call(*a, s), out);
  return true;
}
static bool fastTS_(napi_env env, const OpEntry& op, napi_value* argv, napi_value& out) {
  T* a = liveTensor(env, argv[0]);
  S s;
  if (!a || !scalarOf(env, argv[1], s)) return false;
  typedOf<T&(T&, const S&)>(op).call(*a, s);
  out = argv[0];
  return true;
}
static bool fastTTS(napi_env env, const OpEntry& op, napi_value* argv, napi_value& out) {
  T* a = liveTensor(env, argv[0]);
  T* b = liveTensor(env, argv[1]);
  S s;
  if (!a || !b || !scalarOf(env, argv[2], s)) return false;
  newResult(env, typedOf<T(const T&, const T&, const S&)>(op).call(*a, *b, s), out);
  return true;
}
static bool fastTTS_(napi_env env, const OpEntry& op, napi_value* argv, napi_value& out) {
  T* a = liveTensor(env, argv[0]);
  T* b = liveTensor(env, argv[1]);
  S s;
  if (!a || !b || !scalarOf(env, argv[2], s)) return false;
  typedOf<T&(T&, const T&, const S&)>(op).call(*a, *b, s);
  out = argv[0];
  return true;
}
static bool fastTSS(napi_env env, const OpEntry& op, napi_value* argv, napi_value& out) {
  T* a = liveTensor(env, argv[0]);
  S s1, s2;
  if (!a || !scalarOf(env, argv[1], s1) || !scalarOf(env, argv[2], s2)) return false;
  newResult(env, typedOf<T(const T&, const S&, const S&)>(op).call(*a, s1, s2), out);
  return true;
}
static bool fastTSS_(napi_env env, const OpEntry& op, napi_value* argv, napi_value& out) {
  T* a = liveTensor(env, argv[0]);
  S s1, s2;
  if (!a || !scalarOf(env, argv[1], s1) || !scalarOf(env, argv[2], s2)) return false;
  typedOf<T&(T&, const S&, const S&)>(op).call(*a, s1, s2);
  out = argv[0];
  return true;
}

template <class Sig>
static bool installFast(OpEntry& entry, FastCall fn) {
  try {
    entry.typed = new c10::TypedOperatorHandle<Sig>(entry.handle.typed<Sig>());
  } catch (const c10::Error&) {
    return false;  // registered with another C++ signature: stay boxed
  }
  entry.fast = fn;
  return true;
}

// Picks the fast path for an operator whose schema is one of the common signatures: tensors
// and scalars only, none optional, one tensor result; in place when the first argument is
// written (and returned) and no other is.
static void chooseFast(OpEntry& entry) {
  const auto& schema = entry.handle.schema();
  if (schema.is_vararg() || schema.returns().size() != 1 || schema.returns()[0].type()->kind() != c10::TypeKind::TensorType) return;
  std::string pattern;
  for (size_t i = 0; i < entry.args.size(); i++) {
    const ArgSpec& a = entry.args[i];
    if (a.optional) return;
    const auto* alias = schema.arguments()[i].alias_info();
    if (alias && alias->isWrite() && i > 0) return;
    if (a.kind == Kind::Tensor) pattern += 'T';
    else if (a.kind == Kind::Scalar) pattern += 'S';
    else return;
  }
  if (pattern.empty() || pattern[0] != 'T') return;
  const auto* selfAlias = schema.arguments()[0].alias_info();
  bool inPlace = selfAlias && selfAlias->isWrite();
  if (inPlace != (entry.returnAliasArg[0] == 0)) return;
  if (!inPlace && schema.returns()[0].alias_info()) return;  // a view: keep the generic path
  if (pattern == "T") inPlace ? installFast<T&(T&)>(entry, fastT_) : installFast<T(const T&)>(entry, fastT);
  else if (pattern == "TT") inPlace ? installFast<T&(T&, const T&)>(entry, fastTT_) : installFast<T(const T&, const T&)>(entry, fastTT);
  else if (pattern == "TS") inPlace ? installFast<T&(T&, const S&)>(entry, fastTS_) : installFast<T(const T&, const S&)>(entry, fastTS);
  else if (pattern == "TTS") inPlace ? installFast<T&(T&, const T&, const S&)>(entry, fastTTS_) : installFast<T(const T&, const T&, const S&)>(entry, fastTTS);
  else if (pattern == "TSS") inPlace ? installFast<T&(T&, const S&, const S&)>(entry, fastTSS_) : installFast<T(const T&, const S&, const S&)>(entry, fastTSS);
}

static int lookup(Napi::Env env, const std::string& name, const std::string& overload) {
  std::string key = overload.empty() ? name : name + "." + overload;
  std::lock_guard<std::mutex> lock(lookupMutex);
  auto found = opIds.find(key);
  if (found != opIds.end()) return found->second;
  auto handle = c10::Dispatcher::singleton().findSchema({name, overload});
  if (!handle) throw Napi::Error::New(env, "no ATen operator named " + key);
  OpEntry entry{*handle, key, {}, {}};
  const auto& schema = handle->schema();
  for (const auto& arg : schema.arguments()) {
    ArgSpec spec;
    spec.name = arg.name();
    spec.typeName = arg.real_type()->str();
    spec.kind = kindOf(arg.real_type(), spec.optional);
    spec.fixedSize = arg.N() ? *arg.N() : 0;
    if (arg.default_value()) spec.defaultValue = *arg.default_value();
    entry.args.push_back(std::move(spec));
  }
  for (const auto& ret : schema.returns()) {
    int aliased = -1;
    if (ret.alias_info() && ret.alias_info()->isWrite()) {
      for (size_t j = 0; j < schema.arguments().size(); j++) {
        const auto* ai = schema.arguments()[j].alias_info();
        if (ai && ai->isWrite() && ai->beforeSets() == ret.alias_info()->beforeSets()) { aliased = int(j); break; }
      }
    }
    entry.returnAliasArg.push_back(aliased);
  }
  chooseFast(entry);
  size_t id = opCount.load();
  if (id >= kMaxOps) throw Napi::Error::New(env, "too many distinct operators looked up");
  ops[id] = new OpEntry(std::move(entry));
  opCount.store(id + 1);
  opIds.emplace(key, int(id));
  return int(id);
}

// opLookup(name, overload) -> id
static Napi::Value opLookup(const Napi::CallbackInfo& info) {
  std::string name = info[0].As<Napi::String>().Utf8Value();
  if (name.find("::") == std::string::npos) name = "aten::" + name;
  std::string overload = info.Length() > 1 && info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "";
  return guarded(info, name, [&]() -> Napi::Value { return Napi::Number::New(info.Env(), lookup(info.Env(), name, overload)); });
}

// opSchema(id) -> the schema as libtorch prints it, for error messages and docs.
static Napi::Value opSchema(const Napi::CallbackInfo& info) {
  uint32_t id = info[0].As<Napi::Number>().Uint32Value();
  if (id >= opCount.load()) throw Napi::RangeError::New(info.Env(), "opSchema: unknown op id");
  const OpEntry& op = *ops[id];
  std::ostringstream s;
  s << op.handle.schema();
  return Napi::String::New(info.Env(), s.str());
}

// opArgNames(id) -> the argument names, in order, for messages that name the argument.
static Napi::Value opArgNames(const Napi::CallbackInfo& info) {
  uint32_t id = info[0].As<Napi::Number>().Uint32Value();
  if (id >= opCount.load()) throw Napi::RangeError::New(info.Env(), "opArgNames: unknown op id");
  const OpEntry& op = *ops[id];
  auto out = Napi::Array::New(info.Env(), op.args.size());
  for (size_t i = 0; i < op.args.size(); i++) out.Set(uint32_t(i), op.args[i].name);
  return out;
}

// Reused across calls (an op never calls back into JS, so calls do not nest on one thread):
// saves an allocation per call.
thread_local torch::jit::Stack callStack;
thread_local bool callStackInUse = false;

// call(id, ...args) -> result (a handle, a value, or an array of them for several returns).
// Written against the C API: the generic wrappers cost more than small ops do.
static napi_value call(napi_env env, napi_callback_info cbinfo) {
  constexpr size_t kMaxArgs = 32;
  napi_value argv[kMaxArgs];
  size_t argc = kMaxArgs;
  napi_value out = nullptr;
  try {
    if (napi_get_cb_info(env, cbinfo, &argc, argv, nullptr, nullptr) != napi_ok) throw Napi::Error::New(env, "call: bad arguments");
    uint32_t id = 0;
    if (argc == 0 || napi_get_value_uint32(env, argv[0], &id) != napi_ok || id >= opCount.load())
      throw Napi::RangeError::New(env, "call: unknown op id");
    const OpEntry& op = *ops[id];
    size_t given = argc - 1;
    if (given > op.args.size() || argc > kMaxArgs)
      throw Napi::TypeError::New(env, op.name + ": takes " + std::to_string(op.args.size()) + " arguments, got " + std::to_string(given));
    if (op.fast && given == op.args.size()) {
      try {
        if (op.fast(env, op, argv + 1, out)) return out;
      } catch (const Napi::Error&) {
        throw;
      } catch (const c10::Error& e) {
        throw Napi::Error::New(env, op.name + ": " + e.what_without_backtrace());
      } catch (const std::exception& e) {
        throw Napi::Error::New(env, op.name + ": " + e.what());
      }
    }
    bool ownStack = !callStackInUse;
    torch::jit::Stack localStack;
    torch::jit::Stack& stack = ownStack ? callStack : localStack;
    callStackInUse = true;
    struct Release {
      torch::jit::Stack& s; bool own;
      ~Release() { s.clear(); if (own) callStackInUse = false; }
    } release{stack, ownStack};
    try {
      for (size_t i = 0; i < op.args.size(); i++) {
        const ArgSpec& a = op.args[i];
        if (i < given && a.kind == Kind::Tensor) {
          napi_valuetype t;
          napi_typeof(env, argv[i + 1], &t);
          if (t == napi_bigint) { stack.push_back(tensorArg(env, argv[i + 1], op, a)); continue; }
        }
        Napi::Value v = i < given ? Napi::Value(env, argv[i + 1]) : Napi::Env(env).Undefined();
        stack.push_back(toIValue(v, op, a));
      }
      op.handle.callBoxed(&stack);
      size_t n = stack.size();
      auto result = [&](size_t i) -> napi_value {
        int alias = op.returnAliasArg[i];
        if (alias >= 0 && size_t(alias) < given) return argv[alias + 1];
        if (stack[i].isTensor()) return wrapTensor(env, std::move(stack[i]).toTensor());
        return fromIValue(Napi::Env(env), stack[i]);
      };
      if (n == 0) napi_get_undefined(env, &out);
      else if (n == 1) out = result(0);
      else {
        napi_create_array_with_length(env, n, &out);
        for (size_t i = 0; i < n; i++) napi_set_element(env, out, uint32_t(i), result(i));
      }
    } catch (const Napi::Error&) {
      throw;
    } catch (const c10::Error& e) {
      throw Napi::Error::New(env, op.name + ": " + e.what_without_backtrace());
    } catch (const std::exception& e) {
      throw Napi::Error::New(env, op.name + ": " + e.what());
    }
  } catch (const Napi::Error& e) {
    e.ThrowAsJavaScriptException();
    return nullptr;
  }
  return out;
}

void registerOpFunctions(Napi::Env env, Napi::Object exports) {
  exports.Set("opLookup", Napi::Function::New(env, opLookup));
  exports.Set("opSchema", Napi::Function::New(env, opSchema));
  exports.Set("opArgNames", Napi::Function::New(env, opArgNames));
  napi_value fn;
  NAPI_THROW_IF_FAILED_VOID(env, napi_create_function(env, "call", NAPI_AUTO_LENGTH, call, nullptr, &fn));
  exports.Set("call", Napi::Value(env, fn));
}

}  // namespace dlkit
