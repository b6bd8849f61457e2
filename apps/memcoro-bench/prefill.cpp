#include "prefill.hpp"

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <string>

namespace memcoro::bench {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

template <class Stream>
void set_all(Stream& sock, const Options& o) {
  const std::string value(o.size_max, 'p');
  std::string out;
  for (std::uint64_t k = 1; k <= o.key_max; ++k) {
    out += "set " + o.key_prefix + std::to_string(k) + " 0 0 " + std::to_string(o.size_min) +
           " noreply\r\n";
    out.append(value.data(), o.size_min);
    out += "\r\n";
    if (out.size() > (1 << 20) || k == o.key_max) {
      asio::write(sock, asio::buffer(out));
      out.clear();
    }
  }
  asio::write(sock, asio::buffer(std::string("mn\r\n")));
  std::string in;
  char buf[4096];
  while (in.find("MN\r\n") == std::string::npos) {
    std::size_t n = sock.read_some(asio::buffer(buf));
    in.append(buf, n);
  }
}

}  // namespace

void prefill(const Options& o, asio::ssl::context* tls) {
  asio::io_context ctx;
  tcp::socket sock(ctx);
  sock.connect(tcp::endpoint(asio::ip::make_address(o.host), o.port));
  if (tls == nullptr) {
    set_all(sock, o);
    return;
  }
  asio::ssl::stream<tcp::socket> stream(std::move(sock), *tls);
  stream.handshake(asio::ssl::stream_base::client);
  set_all(stream, o);
}

}  // namespace memcoro::bench
