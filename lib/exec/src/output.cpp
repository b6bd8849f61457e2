#include "memcoro/exec/output.hpp"

namespace memcoro::exec {

void Output::append_value(store::ItemRef item) {
  const std::string_view line = item->value_line();
  if (line.size() < kZeroCopyMin) {
    text_.append(line);
    return;
  }
  pieces_.push_back(Piece{text_.size(), std::move(item)});
}

std::size_t Output::size() const {
  std::size_t n = text_.size();
  for (const Piece& p : pieces_) n += p.item->value_line().size();
  return n;
}

void Output::clear() {
  text_.clear();
  pieces_.clear();
}

}  // namespace memcoro::exec
