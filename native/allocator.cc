// A caching CPU allocator for tensor memory. Training frees and re-allocates the same large
// buffers every step; returning them to the OS and faulting them in again costs more than the
// convolutions (DESIGN.md, "Allocator"). Freed blocks are kept by size class and reused; the
// cache is bounded and can be emptied on request.
#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>
#include <napi.h>
#include <cstdlib>
#include <mutex>
#include <unordered_map>
#include <vector>
#include <unistd.h>

namespace dlkit {

namespace {

constexpr size_t kAlignment = 64;      // what c10's own CPU allocator guarantees
constexpr size_t kHeader = 64;         // keeps the size class and what to free in front of each block, aligned
constexpr size_t kSmallLimit = 16384;  // below this, malloc is fast and keeps its own caches

struct Stats {
  size_t inUse = 0, cached = 0, peakInUse = 0, hits = 0, misses = 0;
};

// Heap-allocated and never destroyed: libtorch may free tensors during static destruction.
struct Cache {
  std::mutex mutex;
  std::unordered_map<size_t, std::vector<void*>> freeBlocks;  // size class -> blocks (header base)
  Stats stats;
  size_t limit = 0;
};

Cache& cache() {
  static Cache* c = [] {
    auto* c = new Cache();
    size_t limitMb = 0;
    if (const char* env = std::getenv("DLKIT_CPU_CACHE_MB")) limitMb = std::strtoull(env, nullptr, 10);
    if (!limitMb) {
      size_t ram = size_t(sysconf(_SC_PHYS_PAGES)) * size_t(sysconf(_SC_PAGESIZE));
      limitMb = std::min<size_t>(4096, ram / 4 / (1 << 20));
    }
    c->limit = limitMb << 20;
    return c;
  }();
  return *c;
}

// Size classes: 8 steps per power of two (at most 12.5% waste), 4 KiB granularity.
size_t sizeClass(size_t n) {
  if (n < kSmallLimit) return (n + kAlignment - 1) & ~(kAlignment - 1);
  size_t p = size_t(1) << (63 - __builtin_clzll(n));
  size_t step = std::max<size_t>(p / 8, 4096);
  return (n + step - 1) / step * step;
}

void* rawAlloc(size_t cls) {
  void* base = nullptr;
  if (posix_memalign(&base, kAlignment, cls + kHeader) != 0 || !base) return nullptr;
  static_cast<void**>(base)[1] = base;
  return base;
}

// Small blocks come from plain malloc, over-allocated and aligned by hand: posix_memalign
// takes glibc's slow path every time (measured: ~800 instructions, as much as the rest of a
// small op's allocation). The header's second word says which pointer to free.
void* smallAlloc(size_t cls) {
  void* raw = std::malloc(cls + kHeader + kAlignment);
  if (!raw) return nullptr;
  uintptr_t user = (reinterpret_cast<uintptr_t>(raw) + kHeader + kAlignment - 1) & ~uintptr_t(kAlignment - 1);
  void* base = reinterpret_cast<void*>(user - kHeader);
  static_cast<void**>(base)[1] = raw;
  return base;
}

void releaseBlock(void* user) {
  if (!user) return;
  void* base = static_cast<char*>(user) - kHeader;
  size_t cls = *static_cast<size_t*>(base);
  if (cls < kSmallLimit) {
    void* raw = static_cast<void**>(base)[1];
    Cache& c = cache();
    {
      std::lock_guard<std::mutex> lock(c.mutex);
      c.stats.inUse -= cls;
    }
    std::free(raw);
    return;
  }
  Cache& c = cache();
  {
    std::lock_guard<std::mutex> lock(c.mutex);
    c.stats.inUse -= cls;
    if (cls >= kSmallLimit && c.stats.cached + cls <= c.limit) {
      c.freeBlocks[cls].push_back(base);
      c.stats.cached += cls;
      return;
    }
  }
  std::free(base);
}

class CachingCpuAllocator final : public c10::Allocator {
 public:
  c10::DataPtr allocate(size_t n) const override {
    if (n == 0) return {nullptr, nullptr, &releaseBlock, c10::Device(c10::DeviceType::CPU)};
    size_t cls = sizeClass(n);
    void* base = nullptr;
    Cache& c = cache();
    {
      std::lock_guard<std::mutex> lock(c.mutex);
      if (cls >= kSmallLimit) {
        auto it = c.freeBlocks.find(cls);
        if (it != c.freeBlocks.end() && !it->second.empty()) {
          base = it->second.back();
          it->second.pop_back();
          c.stats.cached -= cls;
          c.stats.hits++;
        } else {
          c.stats.misses++;
        }
      }
      c.stats.inUse += cls;
      c.stats.peakInUse = std::max(c.stats.peakInUse, c.stats.inUse);
    }
    if (!base) base = cls < kSmallLimit ? smallAlloc(cls) : rawAlloc(cls);
    if (!base) {
      std::lock_guard<std::mutex> lock(c.mutex);
      c.stats.inUse -= cls;
      TORCH_CHECK(false, "dlkit CPU allocator: out of memory allocating ", n, " bytes");
    }
    *static_cast<size_t*>(base) = cls;
    void* user = static_cast<char*>(base) + kHeader;
    return {user, user, &releaseBlock, c10::Device(c10::DeviceType::CPU)};
  }
  c10::DeleterFnPtr raw_deleter() const override { return &releaseBlock; }
};

size_t emptyCacheNow() {
  std::vector<void*> blocks;
  size_t freed = 0;
  {
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mutex);
    for (auto& [cls, list] : c.freeBlocks) {
      freed += cls * list.size();
      blocks.insert(blocks.end(), list.begin(), list.end());
    }
    c.freeBlocks.clear();
    c.stats.cached = 0;
  }
  for (void* b : blocks) std::free(b);
  return freed;
}

bool installed = false;

}  // namespace

void installCachingAllocator() {
  const char* choice = std::getenv("DLKIT_ALLOCATOR");
  if (choice && std::string(choice) == "system") return;
  static CachingCpuAllocator* allocator = new CachingCpuAllocator();
  c10::SetAllocator(c10::DeviceType::CPU, allocator, /*priority=*/100);
  installed = true;
}

static Napi::Value allocatorStats(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  Cache& c = cache();
  Stats s;
  size_t limit;
  {
    std::lock_guard<std::mutex> lock(c.mutex);
    s = c.stats;
    limit = c.limit;
  }
  auto out = Napi::Object::New(env);
  out.Set("caching", installed);
  out.Set("inUseBytes", double(s.inUse));
  out.Set("cachedBytes", double(s.cached));
  out.Set("peakInUseBytes", double(s.peakInUse));
  out.Set("cacheLimitBytes", double(limit));
  out.Set("hits", double(s.hits));
  out.Set("misses", double(s.misses));
  return out;
}

static Napi::Value emptyCache(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), double(emptyCacheNow()));
}

static Napi::Value setCacheLimit(const Napi::CallbackInfo& info) {
  Cache& c = cache();
  {
    std::lock_guard<std::mutex> lock(c.mutex);
    c.limit = size_t(info[0].As<Napi::Number>().DoubleValue());
  }
  if (c.stats.cached > c.limit) emptyCacheNow();
  return info.Env().Undefined();
}

void registerAllocatorFunctions(Napi::Env env, Napi::Object exports) {
  exports.Set("allocatorStats", Napi::Function::New(env, allocatorStats));
  exports.Set("emptyCache", Napi::Function::New(env, emptyCache));
  exports.Set("setCacheLimit", Napi::Function::New(env, setCacheLimit));
}

}  // namespace dlkit
