#include "memcoro/store/item.hpp"

#include <cstdlib>
#include <cstring>
#include <ctime>
#include <new>

#include "memcoro/store/clock.hpp"

namespace memcoro::store {

Item* Item::create(std::string_view key, std::uint32_t flags, RelTime exptime,
                   std::uint32_t value_len) {
  void* mem = std::malloc(total_size(key.size(), value_len));
  if (mem == nullptr) return nullptr;
  Item* it = new (mem) Item;
  it->refcount.store(1, std::memory_order_relaxed);
  it->flags = flags;
  it->exptime = exptime;
  it->time = 0;
  it->cas = 0;
  it->value_len = value_len;
  it->key_len = static_cast<std::uint8_t>(key.size());
  std::memcpy(it->bytes(), key.data(), key.size());
  char* end = it->value_data() + value_len;
  end[0] = '\r';
  end[1] = '\n';
  return it;
}

void Item::destroy(Item* it) {
  it->~Item();
  std::free(it);
}

std::int64_t SystemClock::now() const {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME_COARSE, &ts);
  return ts.tv_sec;
}

}  // namespace memcoro::store
