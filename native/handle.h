// Tensor handles as they cross into JavaScript, and the one error guard every entry point uses.
#pragma once
#include <napi.h>
#include <ATen/core/Tensor.h>
#include <c10/util/Exception.h>
#include <atomic>
#include <string>

namespace dlkit {

// What a JS handle (a Napi::External) points at. The box outlives dispose() so that a
// disposed handle can say so instead of crashing; the External's finalizer deletes it.
struct TensorBox {
  at::Tensor tensor;
  int64_t reportedBytes = 0;  // external memory reported to V8 for this handle
};

extern std::atomic<int64_t> liveTensors;

Napi::Value wrapTensor(Napi::Env env, at::Tensor tensor);
TensorBox* boxOf(const Napi::Value& value, const char* what);
// The tensor behind a handle; throws a JS error naming `what` when disposed or not a handle.
const at::Tensor& tensorOf(const Napi::Value& value, const char* what);
void releaseBox(Napi::Env env, TensorBox* box);

// Runs `body`, turning libtorch and C++ errors into a JS Error that names `where`.
template <typename Body>
Napi::Value guarded(const Napi::CallbackInfo& info, const std::string& where, Body&& body) {
  try {
    return body();
  } catch (const Napi::Error&) {
    throw;
  } catch (const c10::Error& e) {
    throw Napi::Error::New(info.Env(), where + ": " + e.what_without_backtrace());
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), where + ": " + e.what());
  }
}

}  // namespace dlkit
