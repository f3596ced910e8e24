// Module entry: installs the caching allocator once per process and registers the entry points.
#include <napi.h>
#include <mutex>

namespace dlkit {
void installCachingAllocator();
void registerTensorFunctions(Napi::Env env, Napi::Object exports);
void registerOpFunctions(Napi::Env env, Napi::Object exports);
void registerAllocatorFunctions(Napi::Env env, Napi::Object exports);
void registerJitFunctions(Napi::Env env, Napi::Object exports);
void registerHandleCleanup(napi_env env);
}  // namespace dlkit

static Napi::Object init(Napi::Env env, Napi::Object exports) {
  static std::once_flag once;
  std::call_once(once, dlkit::installCachingAllocator);
  dlkit::registerTensorFunctions(env, exports);
  dlkit::registerOpFunctions(env, exports);
  dlkit::registerAllocatorFunctions(env, exports);
  dlkit::registerJitFunctions(env, exports);
  dlkit::registerHandleCleanup(env);
  return exports;
}

NODE_API_MODULE(dlkit, init)
