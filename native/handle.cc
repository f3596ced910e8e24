#include "handle.h"
#include <vector>

namespace dlkit {

std::atomic<int64_t> liveTensors{0};

namespace {

// Slots live in fixed chunks so that references to them stay valid while the table grows
// (an op holds its arguments' tensors by reference while its results get slots).
constexpr uint32_t kChunkBits = 12;
constexpr uint32_t kChunk = 1u << kChunkBits;

// One table per JS thread (the main thread and each worker): handles never cross threads.
// Heap-allocated and never destroyed: libtorch may be gone when thread-local destructors run.
struct Table {
  std::vector<Slot*> chunks;
  uint32_t size = 0;      // slots in use or on the free list
  uint32_t freeHead = 0;  // 1 + index of the first free slot
  int64_t unreportedBytes = 0;
};
thread_local Table* table = nullptr;

Table& tableHere() {
  if (!table) table = new Table();
  return *table;
}

// A handle is the negative BigInt -(2^63 + gen * 2^32 + index), gen in 1 .. 2^31-1: one word,
// and below every int64 (the lowest, -2^63, would need gen 0), so no int64 argument is ever
// taken for a tensor.
constexpr uint64_t kTop = uint64_t(1) << 63;
inline uint32_t nextGen(uint32_t gen) { return (gen + 1) & 0x7fffffffu ? (gen + 1) & 0x7fffffffu : 1; }

inline Slot& slotAt(Table& t, uint32_t index) { return t.chunks[index >> kChunkBits][index & (kChunk - 1)]; }

// V8 only needs a rough count of the memory it cannot see (to start collections sooner):
// report it in steps of at least 1 MiB instead of on every small tensor.
constexpr int64_t kReportStep = 1 << 20;
inline void reportBytes(napi_env env, Table& t, int64_t delta) {
  t.unreportedBytes += delta;
  if (t.unreportedBytes >= kReportStep || t.unreportedBytes <= -kReportStep) {
    int64_t ignored;
    napi_adjust_external_memory(env, t.unreportedBytes, &ignored);
    t.unreportedBytes = 0;
  }
}

int64_t ownedBytes(const at::Tensor& t) {
  // Views share their base's storage: count memory once, at the handle that made it.
  if (!t.defined() || t.is_view() || !t.has_storage()) return 0;
  return static_cast<int64_t>(t.storage().nbytes());
}

}  // namespace

void releaseSlot(napi_env env, Slot* slot) {
  if (!slot->tensor.defined()) return;
  Table& t = tableHere();
  if (slot->reportedBytes) reportBytes(env, t, -slot->reportedBytes);
  slot->reportedBytes = 0;
  slot->tensor.reset();
  slot->gen = nextGen(slot->gen);
  slot->nextFree = t.freeHead;
  t.freeHead = slot->index + 1;
  liveTensors.fetch_sub(1, std::memory_order_relaxed);
}

napi_value wrapTensor(napi_env env, at::Tensor tensor) {
  napi_value out;
  if (!tensor.defined()) {
    napi_get_null(env, &out);
    return out;
  }
  Table& t = tableHere();
  uint32_t index;
  if (t.freeHead) {
    index = t.freeHead - 1;
    t.freeHead = slotAt(t, index).nextFree;
  } else {
    if (t.size == t.chunks.size() * kChunk) {
      if (t.chunks.size() >= (1u << (32 - kChunkBits))) throw Napi::Error::New(env, "too many live tensors");
      Slot* chunk = new Slot[kChunk];
      for (uint32_t i = 0; i < kChunk; i++) chunk[i].index = uint32_t(t.chunks.size() << kChunkBits) + i;
      t.chunks.push_back(chunk);
    }
    index = t.size++;
  }
  Slot& s = slotAt(t, index);
  s.tensor = std::move(tensor);
  s.nextFree = 0;
  s.reportedBytes = ownedBytes(s.tensor);
  if (s.reportedBytes) reportBytes(env, t, s.reportedBytes);
  liveTensors.fetch_add(1, std::memory_order_relaxed);
  uint64_t word = kTop | (uint64_t(s.gen) << 32) | index;
  napi_status st = napi_create_bigint_words(env, 1, 1, &word, &out);
  if (st != napi_ok) {
    releaseSlot(env, &s);
    throw Napi::Error::New(env, "could not create a tensor handle");
  }
  return out;
}

// The token of a handle, or false when `value` is not one.
static inline bool tokenOf(napi_env env, napi_value value, uint64_t& token) {
  int sign = 0;
  size_t count = 1;
  uint64_t word = 0;
  if (napi_get_value_bigint_words(env, value, &sign, &count, &word) != napi_ok) return false;
  if (count != 1 || !sign || !(word & kTop) || !(word & ~kTop & ~uint64_t(0xffffffffu))) return false;
  token = word & ~kTop;
  return true;
}

Slot* trySlotOf(napi_env env, napi_value value) {
  uint64_t token;
  if (!tokenOf(env, value, token)) return nullptr;
  uint32_t index = uint32_t(token & 0xffffffffu), gen = uint32_t(token >> 32);
  Table& t = tableHere();
  if (index >= t.size) return nullptr;
  Slot& s = slotAt(t, index);
  return s.gen == gen ? &s : nullptr;
}

bool isHandle(napi_env env, napi_value value) {
  uint64_t token;
  return tokenOf(env, value, token);
}

Slot* slotOf(napi_env env, napi_value value, const char* what) {
  uint64_t token;
  if (!tokenOf(env, value, token)) throw Napi::TypeError::New(env, std::string(what) + ": expected a tensor handle");
  uint32_t index = uint32_t(token & 0xffffffffu), gen = uint32_t(token >> 32);
  Table& t = tableHere();
  if (index >= t.size) throw Napi::TypeError::New(env, std::string(what) + ": expected a tensor handle");
  Slot& s = slotAt(t, index);
  return s.gen == gen ? &s : nullptr;
}

void throwDisposed(napi_env env, const std::string& what) {
  throw Napi::Error::New(env, what + ": the tensor was disposed");
}

const at::Tensor& tensorOf(const Napi::Value& value, const char* what) {
  Slot* s = slotOf(value, what);
  if (!s || !s->tensor.defined()) throwDisposed(value.Env(), what);
  return s->tensor;
}

// At the teardown of a JS environment (a worker ending, the process exiting), the tensors
// its handles still hold are released, as the finalizers of its handles used to.
static void releaseAllHere(void*) {
  Table* t = table;
  if (!t) return;
  for (uint32_t i = 0; i < t->size; i++) {
    Slot& s = slotAt(*t, i);
    if (s.tensor.defined()) {
      s.tensor.reset();
      s.gen = nextGen(s.gen);
      liveTensors.fetch_sub(1, std::memory_order_relaxed);
    }
  }
}

void registerHandleCleanup(napi_env env) {
  napi_add_env_cleanup_hook(env, releaseAllHere, nullptr);
}

}  // namespace dlkit
