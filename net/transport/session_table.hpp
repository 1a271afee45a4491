// sid -> live Engine.IO session. Shared by every HTTP connection.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace hub::eio {

class eio_session;

class session_table {
 public:
  void add(const std::string& sid, std::shared_ptr<eio_session> s) {
    std::lock_guard lock(mutex_);
    sessions_[sid] = std::move(s);
  }
  std::shared_ptr<eio_session> find(const std::string& sid) const {
    std::lock_guard lock(mutex_);
    auto it = sessions_.find(sid);
    return it == sessions_.end() ? nullptr : it->second;
  }
  void remove(const std::string& sid) {
    std::lock_guard lock(mutex_);
    sessions_.erase(sid);
  }
  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return sessions_.size();
  }
  std::vector<std::shared_ptr<eio_session>> snapshot() const {
    std::lock_guard lock(mutex_);
    std::vector<std::shared_ptr<eio_session>> out;
    out.reserve(sessions_.size());
    for (const auto& [sid, s] : sessions_) out.push_back(s);
    return out;
  }

 private:
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<eio_session>> sessions_;
};

}  // namespace hub::eio
