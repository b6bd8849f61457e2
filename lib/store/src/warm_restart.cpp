// Warm restart, the store's part: what item memory does not hold (snapshot)
// and taking the items back from item memory after a restart (restore).
//
// Item memory keeps almost everything: each item's key, value, flags, CAS,
// expiry, last access, LRU segment and LRU neighbours, which are handles
// (page and chunk numbers, not addresses), so the LRU lists survive as they
// were. The snapshot adds the pages in use, the LRU ends, the CAS counter,
// the flush marker and the epoch item times count from (kept, so that every
// stored time stays valid). The index is rebuilt by walking the pages.
#include <algorithm>
#include <vector>

#include "byte_codec.hpp"
#include "store_internal.hpp"

namespace memcoro::store {
namespace {

// A carved chunk holds an item if the item is linked: unlinking clears
// kLinked before the chunk is freed, and a free chunk's free-list link
// overwrites only its first 8 bytes (the CAS), never the access bits.
bool holds_item(const void* chunk, unsigned cls, std::size_t chunk_size) {
  const auto* it = static_cast<const Item*>(chunk);
  return it->has(kLinked) && it->cls() == cls && it->key_len > 0 && it->total_size() <= chunk_size;
}

}  // namespace

std::string Store::snapshot() const {
  ByteWriter w;
  w.put<std::int64_t>(epoch_);
  w.put<std::int64_t>(clock_.now());
  w.put<std::uint64_t>(cas_counter_.load(std::memory_order_relaxed));
  w.put<RelTime>(oldest_live_.load(std::memory_order_relaxed));
  std::uint64_t items = 0;
  for (std::size_t i = 0; i <= stripe_mask_; ++i) items += stripes_[i].items.get();
  w.put<std::uint64_t>(items);
  const std::vector<memory::PageRecord> pages = slabs_.page_records();
  w.put<std::uint32_t>(slabs_.pages_ever_used());
  w.put<std::uint64_t>(pages.size());
  for (const memory::PageRecord& p : pages) {
    w.put<std::uint32_t>(p.page);
    w.put<std::uint32_t>(p.carved);
    w.put<std::uint8_t>(p.cls);
  }
  w.put<std::uint32_t>(slabs_.num_classes());
  for (unsigned c = 1; c <= slabs_.num_classes(); ++c) {
    for (unsigned seg = 0; seg < kSegments; ++seg) {
      w.put<Handle>(lrus_[c].head[seg]);
      w.put<Handle>(lrus_[c].tail[seg]);
    }
  }
  return std::move(w.bytes());
}

std::string Store::restore(std::string_view snapshot, Restored& out) {
  ByteReader r(snapshot);
  const auto epoch = r.get<std::int64_t>();
  r.get<std::int64_t>();  // when it was saved: for a reader of the file
  const auto cas = r.get<std::uint64_t>();
  const auto oldest = r.get<RelTime>();
  const auto items = r.get<std::uint64_t>();
  const auto ever_used = r.get<std::uint32_t>();
  const auto n = r.get<std::uint64_t>();
  if (!r.ok() || !r.has(n, 9)) return "the metadata is cut short";
  std::vector<memory::PageRecord> pages(n);
  for (memory::PageRecord& p : pages) {
    p.page = r.get<std::uint32_t>();
    p.carved = r.get<std::uint32_t>();
    p.cls = r.get<std::uint8_t>();
  }
  if (r.get<std::uint32_t>() != slabs_.num_classes()) return "the slab classes differ";
  struct Ends {
    Handle head[kSegments], tail[kSegments];
  };
  std::vector<Ends> ends(slabs_.num_classes() + 1);
  for (unsigned c = 1; c <= slabs_.num_classes(); ++c) {
    for (unsigned seg = 0; seg < kSegments; ++seg) {
      ends[c].head[seg] = r.get<Handle>();
      ends[c].tail[seg] = r.get<Handle>();
    }
  }
  if (!r.ok() || !r.at_end()) return "the metadata's length is wrong";
  if (clock_.now() < epoch) return "the clock is before the saved cache's start";

  const std::size_t page_size = slabs_.page_size();
  if (!slabs_.restore_pages(pages, ever_used, [&](const void* chunk, unsigned cls) {
        return holds_item(chunk, cls, slabs_.chunk_size(cls));
      })) {
    return "the metadata's pages do not fit these memory settings";
  }
  epoch_ = epoch;
  cas_counter_.store(cas, std::memory_order_relaxed);
  oldest_live_.store(oldest, std::memory_order_relaxed);
  // The saved count sizes the index, but no more than the pages can hold.
  std::uint64_t carved = 0;
  for (const memory::PageRecord& p : pages) carved += p.carved;
  const std::size_t per_stripe = std::min(items, carved) / (stripe_mask_ + 1) * 9 / 8;

  for (std::size_t i = 0; i <= stripe_mask_; ++i) stripes_[i].index.reserve(per_stripe);

  // Through item memory in order, a window of pages at a time: every item
  // checked (its links too, so that nothing later follows a link out of item
  // memory), counted, and listed with its hash by stripe; then each stripe's
  // list goes into its index, which fits in the CPU's cache, without reading
  // the items again. (Inserting as the pages are read would miss the cache
  // and the TLB twice an item: three times slower.)
  const RelTime now = rel_now();
  std::vector<Item*> dead;
  std::vector<std::vector<KnownHash>> by_stripe(stripe_mask_ + 1);
  constexpr std::size_t kWindow = std::size_t{256} << 20;  // bytes of pages
  for (std::size_t first = 0; first < pages.size();) {
    std::size_t last = first, bytes = 0;
    for (; last < pages.size() && bytes < kWindow; ++last) bytes += page_size;
    for (std::size_t k = first; k < last; ++k) {
      const memory::PageRecord& p = pages[k];
      const std::size_t size = slabs_.chunk_size(p.cls);
      char* base = slabs_.page_address(p.page);
      for (std::uint32_t i = 0; i < p.carved && i * size < page_size; ++i) {
        auto* it = reinterpret_cast<Item*>(base + std::size_t{i} * size);
        if (!holds_item(it, p.cls, size)) continue;
        const Segment seg = it->segment();
        const Handle prev = it->prev(), next = it->next();
        if (seg == Segment::none || (prev != 0 && !slabs_.names_chunk(prev, p.cls)) ||
            (next != 0 && !slabs_.names_chunk(next, p.cls))) {
          return "an item's LRU links are damaged";
        }
        it->refcount.store(1, std::memory_order_relaxed);
        const std::size_t hash = hash_key(it->key());
        const std::size_t stripe = stripe_index(hash);
        by_stripe[stripe].push_back({slabs_.handle_of(it), hash});
        Stripe& s = stripes_[stripe];
        s.items.add(1);
        s.total_items.add(1);
        s.bytes.add(static_cast<std::int64_t>(it->total_size()));
        Lru& l = lrus_[p.cls];
        ++l.count[static_cast<unsigned>(seg)];
        l.requested += it->total_size();
        LookupStatus why;
        if (!is_live(it, now, &why)) dead.push_back(it);
      }
    }
    for (std::size_t i = 0; i <= stripe_mask_; ++i) {
      Stripe& s = stripes_[i];
      for (const KnownHash& k : by_stripe[i]) {
        s.known = k;
        s.index.insert(k.handle);
      }
      s.known = {};
      by_stripe[i].clear();
    }
    first = last;
  }
  for (unsigned c = 1; c <= slabs_.num_classes(); ++c) {
    Lru& l = lrus_[c];
    for (unsigned seg = 0; seg < kSegments; ++seg) {
      const Handle head = ends[c].head[seg], tail = ends[c].tail[seg];
      if ((head == 0) != (tail == 0) || (head == 0) != (l.count[seg] == 0)) {
        return "an LRU list's ends do not match its items";
      }
      if (head == 0) continue;
      if (!slabs_.names_chunk(head, c) || !slabs_.names_chunk(tail, c) ||
          item(head)->segment() != static_cast<Segment>(seg) ||
          item(tail)->segment() != static_cast<Segment>(seg) || item(head)->prev() != 0 ||
          item(tail)->next() != 0 || !item(head)->has(kLinked) || !item(tail)->has(kLinked)) {
        return "an LRU list's ends are damaged";
      }
      l.head[seg] = head;
      l.tail[seg] = tail;
    }
  }
  // Expired or flushed while the server was down: gone now, as a lookup or
  // the crawler would have dropped them.
  for (Item* it : dead) {
    Stripe& s = stripe_for(hash_key(it->key()));
    std::lock_guard lock(s.mu);
    {
      std::lock_guard lru_lock(lrus_[it->cls()].mu);
      ++lrus_[it->cls()].reclaimed;
    }
    unlink_locked(s, it);
  }
  out.dropped = dead.size();
  out.items = 0;
  for (std::size_t i = 0; i <= stripe_mask_; ++i) out.items += stripes_[i].items.get();
  return {};
}

}  // namespace memcoro::store
