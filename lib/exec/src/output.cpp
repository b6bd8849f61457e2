#include "memcoro/exec/output.hpp"

namespace memcoro::exec {

void Output::append_value(store::ItemRef item) {
  append_piece(std::move(item), false);
}

void Output::append_bare_value(store::ItemRef item) {
  append_piece(std::move(item), true);
}

void Output::append_piece(store::ItemRef item, bool bare) {
  const std::string_view bytes = bare ? item->value() : item->value_line();
  if (bytes.size() < kZeroCopyMin) {
    text_.append(bytes);
    return;
  }
  piece_bytes_ += bytes.size();
  pieces_.push_back(Piece{text_.size(), std::move(item), bare});
}

void Output::clear() {
  text_.clear();
  pieces_.clear();
  piece_bytes_ = 0;
}

}  // namespace memcoro::exec
