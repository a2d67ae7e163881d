#pragma once
// Trust: DNS answers are untrusted network input; libunbound validates them (DNSSEC) and
// records.hpp parses their RDATA with limits.
//
// mail::dns::Resolver: the lookups outbound mail needs (MX with the implicit and null MX
// rules, A/AAAA, TXT, TLSA), each answer carrying its DNSSEC status (answer.hpp).
//
// Threading. One Resolver per process, shared by every delivery; all its functions may be
// called from any thread. It owns one libunbound context in thread mode (libunbound's own
// worker thread does the network I/O and validation) and one small thread of ours running
// an io_context that waits on ub_fd() with a stream_descriptor, calls ub_process(), and runs
// the per-lookup deadline timers (libunbound has no per-query timeout: at the deadline the
// query is ub_cancel()ed and answered `timeout`). Why not the caller's io_context: the
// resolver then never depends on which executor a delivery runs on, and libunbound's calls
// all happen on one thread. Why not the blocking pool: a slow resolver would hold a pool
// thread per lookup, and deliveries to many destinations would starve the pool.
//
// The async_* functions take any Asio completion token (a callback, use_awaitable, ...)
// with the signature void(Answer). The completion runs on the handler's associated
// executor (the coroutine's, or one given with bind_executor); a handler without one runs
// on the resolver's own thread and must neither block nor destroy the Resolver. The
// *_blocking functions wait for the same lookups on the calling thread (CLI, tests; never
// on an event loop or on the resolver's thread).

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.hpp"
#include "mail/dns/answer.hpp"
#include "mail/dns/options.hpp"

namespace mail::dns {

struct AddressAnswer {
  AnswerInfo info;
  // The A records, then the AAAA records, each in answer order. The lookup asks both; it is
  // ok only if neither failed (a failed AAAA next to a good A is the whole answer failing:
  // an attacker who can drop one query must not turn a secure host into an insecure one),
  // and its security combines both.
  std::vector<boost::asio::ip::address> addresses;
};

class Resolver {
 public:
  // Startup: checks the options, reads the trust anchor file, sets the forwarder (or
  // /etc/resolv.conf). Fails with one clear public text on a bad option, an unreadable or
  // malformed trust anchor, or a libunbound failure.
  static core::Result<std::unique_ptr<Resolver>> create(const ResolverOptions& options);
  // Answers every lookup still in flight with servfail ("resolver stopped"), stops the
  // thread, frees libunbound. Must not run on the resolver's own thread.
  ~Resolver();
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  // False when validation is off (no trust anchor): every answer is then insecure.
  bool validating() const;

  // MX of a mail domain, with RFC 5321 5.1's implicit MX (no MX but an address: the domain
  // itself, implicit_mx set) and RFC 7505's null MX (null_mx set).
  template <class Token>
  auto async_mx(std::string_view domain, Token&& token) {
    return initiate<MxAnswer>(std::forward<Token>(token),
                              [this, d = std::string(domain)](Done<MxAnswer> done) mutable {
                                start_mx(std::move(d), std::move(done));
                              });
  }
  // A and AAAA of a host.
  template <class Token>
  auto async_addresses(std::string_view host, Token&& token) {
    return initiate<AddressAnswer>(std::forward<Token>(token),
                                   [this, h = std::string(host)](Done<AddressAnswer> done) mutable {
                                     start_addresses(std::move(h), std::move(done));
                                   });
  }
  // TXT of a name (_mta-sts.D, _smtp._tls.D, D for SPF, _dmarc.D, S._domainkey.D).
  template <class Token>
  auto async_txt(std::string_view name, Token&& token) {
    return initiate<TxtAnswer>(std::forward<Token>(token),
                               [this, n = std::string(name)](Done<TxtAnswer> done) mutable {
                                 start_txt(std::move(n), std::move(done));
                               });
  }
  // TLSA of a name such as "_25._tcp.mx.example" (see tlsa_query_names in records.hpp).
  template <class Token>
  auto async_tlsa(std::string_view name, Token&& token) {
    return initiate<TlsaAnswer>(std::forward<Token>(token),
                                [this, n = std::string(name)](Done<TlsaAnswer> done) mutable {
                                  start_tlsa(std::move(n), std::move(done));
                                });
  }

  MxAnswer mx_blocking(std::string_view domain);
  AddressAnswer addresses_blocking(std::string_view host);
  TxtAnswer txt_blocking(std::string_view name);
  TlsaAnswer tlsa_blocking(std::string_view name);

  struct Impl;

 private:
  template <class T>
  using Done = std::move_only_function<void(T)>;

  explicit Resolver(std::shared_ptr<Impl> impl);

  boost::asio::any_io_executor executor() const;
  void start_mx(std::string domain, Done<MxAnswer> done);
  void start_addresses(std::string host, Done<AddressAnswer> done);
  void start_txt(std::string name, Done<TxtAnswer> done);
  void start_tlsa(std::string name, Done<TlsaAnswer> done);

  template <class Answer, class Token, class Start>
  auto initiate(Token&& token, Start start) {
    return boost::asio::async_initiate<Token, void(Answer)>(
        [this](auto handler, Start start) mutable {
          using Handler = decltype(handler);
          auto work = boost::asio::prefer(boost::asio::get_associated_executor(handler, executor()),
                                          boost::asio::execution::outstanding_work.tracked);
          using Work = decltype(work);
          // Called once, on the resolver's thread. The handler and the work guard live on the
          // heap and move into the posted function whole: a moved-from executor_binder or
          // strand still holds a reference to the caller's io_context, so no copy of either
          // may stay behind on the resolver's side after the post (the caller may destroy
          // its io_context as soon as the handler ran).
          start([h = std::make_unique<Handler>(std::move(handler)),
                 w = std::make_unique<Work>(std::move(work))](Answer answer) mutable {
            const Work& ex = *w;
            boost::asio::post(
                ex, [h = std::move(h), w = std::move(w), answer = std::move(answer)]() mutable {
                  std::move (*h)(std::move(answer));
                });
          });
        },
        token, std::move(start));
  }

  std::shared_ptr<Impl> impl_;
};

}  // namespace mail::dns
