// Tensor handles as they cross into JavaScript, and the one error guard every entry point uses.
#pragma once
#include <napi.h>
#include <ATen/core/Tensor.h>
#include <c10/util/Exception.h>
#include <atomic>
#include <cstdint>
#include <string>

namespace dlkit {

// A JS handle is a BigInt that holds a token: the index of a slot in this thread's handle
// table and the slot's generation, encoded below -2^63 (so that no int64 argument is ever
// taken for a tensor; see handle.cc). dispose() frees the slot and bumps its
// generation, so a disposed (or stale) handle can say so instead of crashing. Unlike an
// External with a finalizer, making one costs no weak reference, finalizer or native
// allocation, and a BigInt needs no global handle as an External does (measured: those were
// most of the cost of a small op). Tensors nobody disposes are freed by the
// FinalizationRegistry in src/tensor/memory.ts, which calls dispose().
struct Slot {
  at::Tensor tensor;
  int64_t reportedBytes = 0;  // external memory reported to V8 for this handle
  uint32_t gen = 1;
  uint32_t nextFree = 0;  // 1 + index of the next free slot, 0 at the end of the list
  uint32_t index = 0;     // its own place in the table
};

extern std::atomic<int64_t> liveTensors;

napi_value wrapTensor(napi_env env, at::Tensor tensor);
inline Napi::Value wrapTensor(Napi::Env env, at::Tensor tensor) {
  return Napi::Value(env, wrapTensor(static_cast<napi_env>(env), std::move(tensor)));
}
// The slot behind a handle whose generation still matches, or nullptr (not a handle, or disposed).
Slot* trySlotOf(napi_env env, napi_value value);
// Whether a JS value is a tensor handle (alive or not).
bool isHandle(napi_env env, napi_value value);
// The slot behind a handle whose generation still matches (alive), or nullptr when it was
// disposed; throws a JS TypeError naming `what` when the value is not a tensor handle.
Slot* slotOf(napi_env env, napi_value value, const char* what);
inline Slot* slotOf(const Napi::Value& value, const char* what) { return slotOf(value.Env(), value, what); }
// The tensor behind a handle; throws a JS error naming `what` when disposed or not a handle.
const at::Tensor& tensorOf(const Napi::Value& value, const char* what);
// As tensorOf, with the message's `what` built only when it fails.
[[noreturn]] void throwDisposed(napi_env env, const std::string& what);
void releaseSlot(napi_env env, Slot* slot);
void registerHandleCleanup(napi_env env);

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
