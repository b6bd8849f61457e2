#pragma once
// The replies to one batch of requests, collected for one gathered write:
// small text in one growing buffer, large values as references into item
// memory (sent without a copy, kept alive until the write completes).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "memcoro/store/item.hpp"

namespace memcoro::exec {

class Output {
 public:
  // Values at least this long are sent from the item instead of copied.
  static constexpr std::size_t kZeroCopyMin = 1024;

  void append(std::string_view s) { text_.append(s); }
  void append(char c) { text_.push_back(c); }
  std::string& text() { return text_; }
  // The value and its "\r\n", from item memory when it is large.
  void append_value(store::ItemRef item);
  // The value alone (the binary protocol's: no "\r\n"), the same way.
  void append_bare_value(store::ItemRef item);

  bool empty() const { return text_.empty() && pieces_.empty(); }
  // Bytes queued: the text and the values held by reference.
  std::size_t size() const { return text_.size() + piece_bytes_; }
  void clear();

  // What to send, in order: text_[from, to) then, if item is set, its
  // value line (or its bare value).
  struct Piece {
    std::size_t text_end;  // text_ up to here precedes the item
    store::ItemRef item;
    bool bare = false;
  };
  template <typename Fn>  // Fn(std::string_view)
  void for_each_span(Fn&& fn) const {
    std::size_t at = 0;
    for (const Piece& p : pieces_) {
      if (p.text_end > at) fn(std::string_view(text_).substr(at, p.text_end - at));
      fn(p.bare ? p.item->value() : p.item->value_line());
      at = p.text_end;
    }
    if (text_.size() > at) fn(std::string_view(text_).substr(at));
  }

 private:
  void append_piece(store::ItemRef item, bool bare);

  std::string text_;
  std::vector<Piece> pieces_;
  std::size_t piece_bytes_ = 0;
};

}  // namespace memcoro::exec
