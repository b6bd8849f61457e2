#include "memcoro/exec/output.hpp"

namespace memcoro::exec {

void Output::append_value(store::ItemRef item) {
  const std::string_view line = item->value_line();
  if (line.size() < kZeroCopyMin) {
    text_.append(line);
    return;
  }
  piece_bytes_ += line.size();
  pieces_.push_back(Piece{text_.size(), std::move(item)});
}

void Output::clear() {
  text_.clear();
  pieces_.clear();
  piece_bytes_ = 0;
}

}  // namespace memcoro::exec
