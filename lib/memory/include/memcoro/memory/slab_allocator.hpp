#pragma once
// Slab classes over one reserved address range.
//
// Memory is taken a page at a time (1 MiB, or the item size limit if that is
// larger) and a page belongs to one size class, cut into equal chunks. The
// memory limit is a hard bound on the pages in use. Chunks are named by
// 36-bit handles, so the structures that point at items (index slots, LRU
// links) use 5 bytes (4.5 in an item's links) instead of 8: a handle is the
// page number and the chunk's index in its page, plus one. The bits left for
// the page number after those for the chunk index bound the address range:
// 2^36 chunks of the smallest class, from 2 TiB (48-byte chunks) to about
// 4 TiB (the default 88-byte chunks). The range (SlabConfig::reserve) is
// reserved up front with PROT_NONE (it costs neither memory nor commit
// charge), and each page is made writable the first time it is used, so the
// limit can be raised at run time up to the range and memory is used only as
// items are stored.
//
// With a memory file (warm restart) the range is that file, mapped shared:
// a page's blocks are allocated in the file when the page is first used (so
// a full tmpfs refuses the page instead of faulting later) and punched out
// when it goes back to the pool. The pages in use and their chunks can be
// recorded (page_records) and, after a restart over the same file, restored.
//
// Lock rules:
//  * Each class has a mutex guarding its pages' free lists, its page list and
//    its counters. alloc() and free() take only the chunk's class mutex.
//  * pool_mu_ guards the pool of unassigned pages and the page count; it is
//    taken inside a class mutex (class -> pool), never the other way round.
//  * A page's class (PageInfo::cls) changes only while it has no chunk in use,
//    so free() may read it without a lock.
//  * One page move at a time (move_mu_); while a page moves, its free chunks
//    are not handed out, and chunks freed in it stay there.
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "memcoro/memory/spin_lock.hpp"

namespace memcoro::memory {

using Handle = std::uint64_t;  // 0: none
// The bits a handle uses (the rest are zero): stored items keep only these.
inline constexpr unsigned kHandleBits = 36;

// No defaults: the store builds it from its own configuration (and tests
// say what they need), so memcached's defaults are written in one place.
struct SlabConfig {
  std::size_t memory_limit = 0;
  std::size_t item_size_max = 0;
  std::size_t min_chunk = 0;  // smallest chunk: item header + memcached's -n
  double growth_factor = 0;
  // Address space reserved up front, so the limit can grow at run time up to
  // this (0: as much as handles can name; less if the system refuses it).
  std::size_t reserve = 0;
  // Item memory in this file (sized to `reserve`, or to the limit if 0)
  // instead of anonymous memory; its contents are kept only with
  // keep_file_contents (a restore follows), else it starts empty.
  std::string memory_file;
  bool keep_file_contents = false;
};

// A page assigned to a class, as a warm restart records it.
struct PageRecord {
  std::uint32_t page = 0;
  std::uint32_t carved = 0;  // chunks handed out at least once
  std::uint8_t cls = 0;
};

class SlabAllocator {
 public:
  static constexpr unsigned kMaxClasses = 63;  // class ids 1..63; 0 means none
  static constexpr std::size_t kAlign = 8;

  explicit SlabAllocator(const SlabConfig& config);
  ~SlabAllocator();
  SlabAllocator(const SlabAllocator&) = delete;
  SlabAllocator& operator=(const SlabAllocator&) = delete;

  // The smallest class whose chunks hold `size` bytes; 0 if none does.
  unsigned class_for(std::size_t size) const;
  unsigned num_classes() const { return num_classes_; }
  std::size_t chunk_size(unsigned cls) const { return classes_[cls].size; }
  std::size_t chunks_per_page(unsigned cls) const { return classes_[cls].per_page; }
  std::size_t page_size() const { return page_size_; }

  // A chunk of class `cls`: a free one, else one from a new page if the
  // limit allows and `new_page` is set; nullptr otherwise.
  void* alloc(unsigned cls, bool new_page = true);
  void free(void* chunk);
  unsigned class_of(const void* chunk) const;

  // A chunk in use (its page's class is fixed while it is) and its handle.
  Handle handle_of(const void* p) const {
    const auto offset = static_cast<std::size_t>(static_cast<const char*>(p) - base_);
    const std::size_t page = offset / page_size_;
    const std::size_t slot = (offset - page * page_size_) / page_chunk_[page];
    return ((Handle{page} << slot_bits_) | slot) + 1;
  }
  void* pointer(Handle h) const {
    const Handle v = h - 1;
    const std::size_t page = v >> slot_bits_;
    return base_ + page * page_size_ + std::size_t{v & slot_mask_} * page_chunk_[page];
  }

  // The limit on pages in use, in bytes. Raising it takes effect at once;
  // lowering it leaves the excess pages for shrink steps to release. A limit
  // above the reserved range is refused (the constructor takes one, and then
  // item memory stops at the range).
  bool set_limit(std::size_t bytes);
  std::size_t limit() const { return limit_.load(std::memory_order_relaxed); }
  std::size_t max_limit() const { return reserve_; }
  // The bytes pages can actually take: the limit, or the range if smaller.
  std::size_t usable_limit() const { return std::min(limit(), reserve_); }
  // The most bytes handles can name with these classes.
  std::size_t addressable() const { return addressable_; }
  // Bytes in pages assigned to classes (memcached's total_malloced).
  std::size_t malloced() const;

  // --- page moves (slabs reassign, automove, shrinking) ---------------------
  enum class MoveStatus { ok, busy, bad_class, no_spare, same };
  // Starts moving one page of `src` to `dst` (dst 0: back to the pool,
  // released to the OS). `min_src_pages`: src must keep at least this many
  // pages minus one (memcached's reassign needs 2).
  MoveStatus start_move(unsigned src, unsigned dst, unsigned min_src_pages = 2);
  bool moving() const { return moving_page_.load(std::memory_order_acquire) != kNoPage; }
  // The chunks of the moving page still in use; the caller frees them.
  std::vector<void*> moving_page_used_chunks();
  // The moving page's address range and class (nullptr when none moves).
  struct MovingPage {
    const char* begin = nullptr;
    const char* end = nullptr;
    unsigned src = 0;
  };
  MovingPage moving_page();
  // Completes the move if no chunk of the page is in use.
  enum class FinishStatus { idle, finished, pending };
  FinishStatus try_finish_move();

  // --- warm restart (a memory file) --------------------------------------
  // The pages assigned to classes, and how many pages were ever used. Only
  // while nothing allocates or frees.
  std::vector<PageRecord> page_records() const;
  std::uint32_t pages_ever_used() const { return next_fresh_; }
  // Before any alloc(), over a kept memory file: takes the recorded pages
  // back; a carved chunk is free unless used(chunk). The other pages below
  // `ever_used` go to the pool. False (nothing restored) if a record does not
  // fit this allocator's classes and range.
  bool restore_pages(std::span<const PageRecord> records, std::uint32_t ever_used,
                     const std::function<bool(const void* chunk, unsigned cls)>& used);
  // The first chunk of a page (restored pages are walked from it).
  char* page_address(std::uint32_t page) const { return page_base(page); }
  // Whether h names a carved chunk of a page of class cls (0 does not).
  bool names_chunk(Handle h, unsigned cls) const;

  struct ClassStats {
    std::size_t chunk_size = 0;
    std::size_t chunks_per_page = 0;
    std::size_t total_pages = 0;
    std::size_t total_chunks = 0;
    std::size_t used_chunks = 0;
    std::size_t free_chunks = 0;
    std::size_t free_chunks_end = 0;
  };
  ClassStats class_stats(unsigned cls) const;
  std::size_t total_pages() const;

 private:
  static constexpr std::uint32_t kNoPage = 0xffffffffu;

  struct PageInfo {
    std::atomic<std::uint8_t> cls{0};  // 0: in the pool
    bool moving = false;
    bool listed = false;       // in its class's list of pages with space
    std::uint32_t carved = 0;  // chunks handed out at least once
    std::uint32_t free_count = 0;
    void* free_head = nullptr;                     // free chunks, linked through their first word
    std::uint32_t prev = kNoPage, next = kNoPage;  // list of pages with space
  };

  struct alignas(64) Class {
    SpinLock mu;
    std::size_t size = 0;
    std::size_t per_page = 0;
    std::uint32_t space_head = kNoPage;  // pages with a free or uncarved chunk
    std::vector<std::uint32_t> pages;
    std::size_t used = 0;
  };

  std::uint32_t page_of(const void* p) const {
    return static_cast<std::uint32_t>((static_cast<const char*>(p) - base_) / page_size_);
  }
  char* page_base(std::uint32_t page) const { return base_ + std::size_t{page} * page_size_; }
  bool has_space_locked(const PageInfo& pg, const Class& c) const {
    return !pg.moving && (pg.free_count > 0 || pg.carved < c.per_page);
  }
  void list_add_locked(Class& c, std::uint32_t page);
  void list_remove_locked(Class& c, std::uint32_t page);
  std::uint32_t take_pool_page();
  void return_pool_page(std::uint32_t page);
  void assign_page_locked(std::uint32_t page, unsigned cls);
  // Memory for a page about to be used; given back when it leaves a class.
  bool commit_page(std::uint32_t page);
  void release_page(std::uint32_t page);
  void map_range(const SlabConfig& config);

  char* base_ = nullptr;
  int fd_ = -1;  // the memory file, or -1
  std::size_t reserve_ = 0;
  std::size_t addressable_ = 0;
  std::size_t page_size_ = 0;
  std::size_t max_pages_ = 0;
  unsigned slot_bits_ = 0;
  Handle slot_mask_ = 0;
  unsigned num_classes_ = 0;
  std::unique_ptr<Class[]> classes_;  // [0] unused
  // Per page, in reserved memory too (touched only as pages come into use):
  // its bookkeeping, constructed when the page is first used, and its chunk
  // size, which pointer() reads (kept apart: a dense array stays in cache).
  PageInfo* pages_ = nullptr;
  std::uint32_t* page_chunk_ = nullptr;
  std::atomic<std::size_t> limit_{0};

  mutable std::mutex pool_mu_;
  std::vector<std::uint32_t> pool_;  // released pages, ready for reuse
  std::uint32_t next_fresh_ = 0;     // pages never used yet start here
  std::size_t pages_in_use_ = 0;

  std::mutex move_mu_;  // one move at a time; guards the two fields below
  std::atomic<std::uint32_t> moving_page_{kNoPage};
  unsigned move_src_ = 0, move_dst_ = 0;
};

}  // namespace memcoro::memory
