#pragma once
// A fixed pool of threads for work that may block or burn CPU (encryption, SQLite reads,
// key files), so that event-loop threads never do (STYLE.md "Where I/O happens").

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace core {

class BlockingPool {
 public:
  // `max_queue` bounds memory: beyond it, post() refuses and the caller answers 503.
  BlockingPool(std::size_t threads, std::size_t max_queue);
  ~BlockingPool();
  BlockingPool(const BlockingPool&) = delete;
  BlockingPool& operator=(const BlockingPool&) = delete;

  // Returns false (and does not run `job`) when the queue is full or the pool stopped.
  [[nodiscard]] bool post(std::function<void()> job);
  // Finishes queued jobs, then joins the threads. Idempotent.
  void stop();
  // Jobs waiting for a thread (not those running): a gauge for /metrics.
  std::size_t queued() const;

 private:
  void run();

  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  std::vector<std::thread> threads_;
  std::size_t max_queue_;
  bool stopping_ = false;
};

}  // namespace core
