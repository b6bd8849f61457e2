#include "memcoro/memory/slab_allocator.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <new>
#include <stdexcept>

namespace memcoro::memory {
namespace {

constexpr std::size_t kMinPage = 1u << 20;

std::size_t align_up(std::size_t v, std::size_t a) {
  return (v + a - 1) / a * a;
}

void* next_of(void* chunk) {
  return *static_cast<void**>(chunk);
}
void set_next(void* chunk, void* next) {
  *static_cast<void**>(chunk) = next;
}

// Zeroed memory whose pages are taken from the system only when touched.
void* reserve_array(std::size_t bytes) {
  void* p = mmap(nullptr, std::max<std::size_t>(bytes, 1), PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  return p;
}

}  // namespace

SlabAllocator::SlabAllocator(const SlabConfig& config) {
  page_size_ = std::max(kMinPage, align_up(config.item_size_max, kAlign));
  limit_ = config.memory_limit;

  classes_ = std::make_unique<Class[]>(kMaxClasses + 1);
  const double factor = config.growth_factor > 1.0 ? config.growth_factor : 1.25;
  std::size_t size = align_up(std::max<std::size_t>(config.min_chunk, 16), kAlign);
  unsigned n = 0;
  while (n < kMaxClasses - 1 && static_cast<double>(size) <= config.item_size_max / factor) {
    ++n;
    classes_[n].size = size;
    classes_[n].per_page = page_size_ / size;
    std::size_t next =
        align_up(static_cast<std::size_t>(static_cast<double>(size) * factor), kAlign);
    size = std::max(next, size + kAlign);
  }
  // The last class holds the largest item, one (or a few) per page.
  ++n;
  classes_[n].size = align_up(config.item_size_max, kAlign);
  classes_[n].per_page = page_size_ / classes_[n].size;
  num_classes_ = n;

  // Handles: the chunk's index in its page takes the low bits, enough for
  // the smallest class; the page number the rest (all ones stays free, so
  // that handle + 1 never wraps to 0).
  std::size_t most_per_page = 1;
  for (unsigned c = 1; c <= num_classes_; ++c) {
    most_per_page = std::max(most_per_page, classes_[c].per_page);
  }
  slot_bits_ = static_cast<unsigned>(std::bit_width(most_per_page - 1));
  slot_mask_ = (Handle{1} << slot_bits_) - 1;
  const std::size_t page_numbers = (std::size_t{1} << (kHandleBits - slot_bits_)) - 1;
  addressable_ = page_numbers * page_size_;

  map_range(config);
  max_pages_ = reserve_ / page_size_;
  pages_ = static_cast<PageInfo*>(reserve_array(max_pages_ * sizeof(PageInfo)));
  page_chunk_ = static_cast<std::uint32_t*>(reserve_array(max_pages_ * sizeof(std::uint32_t)));
}

void SlabAllocator::map_range(const SlabConfig& config) {
  // A memory file holds the range: by default only what the limit needs.
  const std::size_t automatic = config.memory_file.empty() ? addressable_ : config.memory_limit;
  std::size_t reserve = config.reserve == 0 ? automatic : config.reserve;
  reserve = std::min(align_up(reserve, page_size_), addressable_);
  if (!config.memory_file.empty()) {
    // The file is the range: exactly `reserve` bytes, mapped shared.
    auto fail = [&](const char* what) {
      const std::string e = std::strerror(errno);
      if (fd_ >= 0) ::close(fd_);
      throw std::runtime_error("memory file " + config.memory_file + ": " + what + ": " + e);
    };
    fd_ = ::open(config.memory_file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ < 0) fail("cannot open");
    // Two servers over one file would overwrite each other's items.
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) fail("in use by another process");
    // Starting empty: drop what an earlier run left (on tmpfs, its memory).
    if (!config.keep_file_contents && ::ftruncate(fd_, 0) != 0) fail("cannot truncate");
    if (::ftruncate(fd_, static_cast<off_t>(reserve)) != 0) fail("cannot size");
    void* mem = mmap(nullptr, reserve, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd_, 0);
    if (mem == MAP_FAILED) fail("cannot map");
    base_ = static_cast<char*>(mem);
    reserve_ = reserve;
    return;
  }
  // Reserve all of it, or as much as the system grants (an address-space
  // rlimit): PROT_NONE mappings are not charged against overcommit limits.
  void* mem = MAP_FAILED;
  for (; reserve >= page_size_; reserve = reserve / 2 / page_size_ * page_size_) {
    mem = mmap(nullptr, reserve, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (mem != MAP_FAILED) break;
  }
  if (mem == MAP_FAILED) throw std::bad_alloc();
  base_ = static_cast<char*>(mem);
  reserve_ = reserve;
}

bool SlabAllocator::commit_page(std::uint32_t page) {
  if (fd_ >= 0) {
    // Blocks now, so that a full file system refuses the page here instead
    // of killing the process with SIGBUS when it is written.
    // (A file system without fallocate allocates as the page is written.)
    return ::fallocate(fd_, 0, static_cast<off_t>(std::size_t{page} * page_size_),
                       static_cast<off_t>(page_size_)) == 0 ||
           errno == EOPNOTSUPP;
  }
  return mprotect(page_base(page), page_size_, PROT_READ | PROT_WRITE) == 0;
}

void SlabAllocator::release_page(std::uint32_t page) {
  if (fd_ >= 0) {
    ::fallocate(fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                static_cast<off_t>(std::size_t{page} * page_size_), static_cast<off_t>(page_size_));
    return;
  }
  madvise(page_base(page), page_size_, MADV_DONTNEED);
}

SlabAllocator::~SlabAllocator() {
  munmap(base_, reserve_);
  if (fd_ >= 0) ::close(fd_);
  munmap(pages_, max_pages_ * sizeof(PageInfo));
  munmap(page_chunk_, max_pages_ * sizeof(std::uint32_t));
}

unsigned SlabAllocator::class_for(std::size_t size) const {
  // Few classes and a branch-predictable scan; a lookup table is not worth it.
  for (unsigned c = 1; c <= num_classes_; ++c) {
    if (size <= classes_[c].size) return c;
  }
  return 0;
}

unsigned SlabAllocator::class_of(const void* chunk) const {
  return pages_[page_of(chunk)].cls.load(std::memory_order_acquire);
}

void SlabAllocator::list_add_locked(Class& c, std::uint32_t page) {
  PageInfo& pg = pages_[page];
  pg.prev = kNoPage;
  pg.next = c.space_head;
  if (c.space_head != kNoPage) pages_[c.space_head].prev = page;
  c.space_head = page;
  pg.listed = true;
}

void SlabAllocator::list_remove_locked(Class& c, std::uint32_t page) {
  PageInfo& pg = pages_[page];
  if (pg.prev != kNoPage) {
    pages_[pg.prev].next = pg.next;
  } else {
    c.space_head = pg.next;
  }
  if (pg.next != kNoPage) pages_[pg.next].prev = pg.prev;
  pg.prev = pg.next = kNoPage;
  pg.listed = false;
}

std::uint32_t SlabAllocator::take_pool_page() {
  std::lock_guard lock(pool_mu_);
  if ((pages_in_use_ + 1) * page_size_ > limit_.load(std::memory_order_relaxed)) return kNoPage;
  std::uint32_t page;
  if (!pool_.empty()) {
    page = pool_.back();
    if (fd_ >= 0 && !commit_page(page)) return kNoPage;
    pool_.pop_back();
  } else if (next_fresh_ < max_pages_) {
    // First use: make the page writable (the system may refuse: no page).
    if (!commit_page(next_fresh_)) return kNoPage;
    page = next_fresh_++;
    new (&pages_[page]) PageInfo{};
  } else {
    return kNoPage;
  }
  ++pages_in_use_;
  return page;
}

void SlabAllocator::return_pool_page(std::uint32_t page) {
  // Give the memory back to the OS: RSS follows the limit down. (A pool
  // page of a memory file is a hole; it is allocated again when reused.)
  release_page(page);
  std::lock_guard lock(pool_mu_);
  pool_.push_back(page);
  --pages_in_use_;
}

void SlabAllocator::assign_page_locked(std::uint32_t page, unsigned cls) {
  Class& c = classes_[cls];
  page_chunk_[page] = static_cast<std::uint32_t>(c.size);
  pages_[page].cls.store(static_cast<std::uint8_t>(cls), std::memory_order_release);
  c.pages.push_back(page);
  list_add_locked(c, page);
}

void* SlabAllocator::alloc(unsigned cls, bool new_page) {
  Class& c = classes_[cls];
  std::lock_guard lock(c.mu);
  if (c.space_head == kNoPage) {
    if (!new_page) return nullptr;
    const std::uint32_t page = take_pool_page();
    if (page == kNoPage) return nullptr;
    PageInfo& pg = pages_[page];
    pg.carved = 0;
    pg.free_count = 0;
    pg.free_head = nullptr;
    pg.moving = false;
    assign_page_locked(page, cls);
  }
  const std::uint32_t page = c.space_head;
  PageInfo& pg = pages_[page];
  void* p;
  if (pg.free_count > 0) {
    p = pg.free_head;
    pg.free_head = next_of(p);
    --pg.free_count;
  } else {
    p = page_base(page) + std::size_t{pg.carved} * c.size;
    ++pg.carved;
  }
  if (!has_space_locked(pg, c)) list_remove_locked(c, page);
  ++c.used;
  return p;
}

void SlabAllocator::free(void* chunk) {
  const std::uint32_t page = page_of(chunk);
  Class& c = classes_[pages_[page].cls.load(std::memory_order_acquire)];
  std::lock_guard lock(c.mu);
  PageInfo& pg = pages_[page];
  set_next(chunk, pg.free_head);
  pg.free_head = chunk;
  ++pg.free_count;
  --c.used;
  if (!pg.listed && has_space_locked(pg, c)) list_add_locked(c, page);
}

bool SlabAllocator::set_limit(std::size_t bytes) {
  if (bytes > reserve_ || bytes < page_size_) return false;
  limit_.store(bytes, std::memory_order_relaxed);
  return true;
}

std::size_t SlabAllocator::malloced() const {
  std::lock_guard lock(pool_mu_);
  return pages_in_use_ * page_size_;
}

std::size_t SlabAllocator::total_pages() const {
  std::lock_guard lock(pool_mu_);
  return pages_in_use_;
}

SlabAllocator::MoveStatus SlabAllocator::start_move(unsigned src, unsigned dst,
                                                    unsigned min_src_pages) {
  std::lock_guard move_lock(move_mu_);
  if (moving_page_.load(std::memory_order_relaxed) != kNoPage) return MoveStatus::busy;
  if (src < 1 || src > num_classes_ || dst > num_classes_) return MoveStatus::bad_class;
  if (src == dst) return MoveStatus::same;
  Class& c = classes_[src];
  std::lock_guard lock(c.mu);
  if (c.pages.size() < std::max(1u, min_src_pages)) return MoveStatus::no_spare;
  // The page with the fewest chunks in use is the cheapest to empty.
  std::uint32_t best = kNoPage;
  std::size_t best_used = 0;
  for (std::uint32_t page : c.pages) {
    const PageInfo& pg = pages_[page];
    const std::size_t used = pg.carved - pg.free_count;
    if (best == kNoPage || used < best_used) {
      best = page;
      best_used = used;
    }
  }
  PageInfo& pg = pages_[best];
  if (pg.listed) list_remove_locked(c, best);
  pg.moving = true;
  move_src_ = src;
  move_dst_ = dst;
  moving_page_.store(best, std::memory_order_release);
  return MoveStatus::ok;
}

SlabAllocator::MovingPage SlabAllocator::moving_page() {
  std::lock_guard move_lock(move_mu_);
  const std::uint32_t page = moving_page_.load(std::memory_order_relaxed);
  if (page == kNoPage) return {};
  return {page_base(page), page_base(page) + page_size_, move_src_};
}

std::vector<void*> SlabAllocator::moving_page_used_chunks() {
  std::lock_guard move_lock(move_mu_);
  std::vector<void*> used;
  const std::uint32_t page = moving_page_.load(std::memory_order_relaxed);
  if (page == kNoPage) return used;
  Class& c = classes_[move_src_];
  std::lock_guard lock(c.mu);
  PageInfo& pg = pages_[page];
  std::vector<bool> is_free(pg.carved, false);
  for (void* p = pg.free_head; p != nullptr; p = next_of(p)) {
    is_free[static_cast<std::size_t>(static_cast<char*>(p) - page_base(page)) / c.size] = true;
  }
  for (std::uint32_t i = 0; i < pg.carved; ++i) {
    if (!is_free[i]) used.push_back(page_base(page) + std::size_t{i} * c.size);
  }
  return used;
}

SlabAllocator::FinishStatus SlabAllocator::try_finish_move() {
  std::lock_guard move_lock(move_mu_);
  const std::uint32_t page = moving_page_.load(std::memory_order_relaxed);
  if (page == kNoPage) return FinishStatus::idle;
  PageInfo& pg = pages_[page];
  {
    Class& c = classes_[move_src_];
    std::lock_guard lock(c.mu);
    if (pg.carved != pg.free_count) return FinishStatus::pending;  // chunks still in use
    c.pages.erase(std::find(c.pages.begin(), c.pages.end(), page));
    pg.carved = 0;
    pg.free_count = 0;
    pg.free_head = nullptr;
    pg.moving = false;
  }
  if (move_dst_ == 0) {
    pg.cls.store(0, std::memory_order_release);
    return_pool_page(page);
  } else {
    std::lock_guard lock(classes_[move_dst_].mu);
    assign_page_locked(page, move_dst_);
  }
  moving_page_.store(kNoPage, std::memory_order_release);
  return FinishStatus::finished;
}

std::vector<PageRecord> SlabAllocator::page_records() const {
  std::vector<PageRecord> out;
  for (unsigned c = 1; c <= num_classes_; ++c) {
    for (std::uint32_t page : classes_[c].pages) {
      out.push_back({page, pages_[page].carved, static_cast<std::uint8_t>(c)});
    }
  }
  return out;
}

bool SlabAllocator::restore_pages(std::span<const PageRecord> records, std::uint32_t ever_used,
                                  const std::function<bool(const void*, unsigned)>& used) {
  if (next_fresh_ != 0 || ever_used > max_pages_) return false;
  std::vector<bool> seen(ever_used, false);
  for (const PageRecord& r : records) {
    if (r.page >= ever_used || seen[r.page] || r.cls < 1 || r.cls > num_classes_ ||
        r.carved > classes_[r.cls].per_page) {
      return false;
    }
    seen[r.page] = true;
  }
  for (std::uint32_t page = 0; page < ever_used; ++page) new (&pages_[page]) PageInfo{};
  for (const PageRecord& r : records) {
    Class& c = classes_[r.cls];
    PageInfo& pg = pages_[r.page];
    pg.carved = r.carved;
    // Free chunks are linked from the page's end, so the first are used first.
    for (std::uint32_t i = r.carved; i-- > 0;) {
      char* chunk = page_base(r.page) + std::size_t{i} * c.size;
      if (used(chunk, r.cls)) {
        ++c.used;
      } else {
        set_next(chunk, pg.free_head);
        pg.free_head = chunk;
        ++pg.free_count;
      }
    }
    assign_page_locked(r.page, r.cls);
    if (!has_space_locked(pg, c)) list_remove_locked(c, r.page);
  }
  for (std::uint32_t page = 0; page < ever_used; ++page) {
    if (!seen[page]) pool_.push_back(page);
  }
  next_fresh_ = ever_used;
  pages_in_use_ = records.size();
  return true;
}

bool SlabAllocator::names_chunk(Handle h, unsigned cls) const {
  if (h == 0) return false;
  const Handle v = h - 1;
  const std::size_t page = v >> slot_bits_;
  if (page >= next_fresh_ || pages_[page].cls.load(std::memory_order_relaxed) != cls) return false;
  return (v & slot_mask_) < pages_[page].carved;
}

SlabAllocator::ClassStats SlabAllocator::class_stats(unsigned cls) const {
  ClassStats s;
  Class& c = classes_[cls];
  std::lock_guard lock(c.mu);
  s.chunk_size = c.size;
  s.chunks_per_page = c.per_page;
  s.total_pages = c.pages.size();
  s.total_chunks = s.total_pages * c.per_page;
  s.used_chunks = c.used;
  s.free_chunks = s.total_chunks - c.used;
  return s;
}

}  // namespace memcoro::memory
