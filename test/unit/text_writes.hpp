#pragma once
// Writes as the text commands make them (exec's rules over the store's
// core), for tests that fill or change a store directly.
#include <cstdint>
#include <string_view>

#include "memcoro/exec/changes.hpp"

namespace memcoro::test {

inline store::StoreStatus text_write(store::Store& st, exec::StoreMode mode, std::string_view key,
                                     std::uint32_t flags, std::int64_t exptime,
                                     std::string_view value, std::uint64_t cas_in = 0,
                                     std::uint64_t* cas_out = nullptr) {
  protocol::MetaFlags m;
  m.has_cas = mode == exec::StoreMode::cas;
  m.cas = cas_in;
  const exec::Written w = exec::write_value(st, mode, key, flags, exptime, value, m,
                                            /*drop_on_failure=*/mode == exec::StoreMode::set);
  if (cas_out != nullptr) *cas_out = w.cas;
  return w.status;
}

inline exec::Counted text_delta(store::Store& st, std::string_view key, bool incr,
                                std::uint64_t delta) {
  return exec::change_number(st, key, incr, delta, protocol::MetaFlags{});
}

}  // namespace memcoro::test
