#include "events/wal_file_system.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <string>

namespace billow::events {

namespace {

/// Zeros are written this far ahead of the log's end, a chunk at a time.
constexpr uint64_t prefill_chunk = 1 << 20;

const char zeros[64 << 10] = {};

bool is_wal(const std::string& fname) {
  auto slash = fname.find_last_of('/');
  auto base = slash == std::string::npos ? fname : fname.substr(slash + 1);
  return base.size() > 4 && base.ends_with(".log")
    && std::all_of(base.begin(), base.end() - 4, [](char c) {
           return c >= '0' && c <= '9';
         });
}

/// A WAL file that keeps zeros written ahead of its end (see the header).
/// Filling uses a second descriptor with pwrite, which leaves RocksDB's
/// file offset alone.
class prefilled_wal_file : public rocksdb::FSWritableFileOwnerWrapper {
public:
  prefilled_wal_file(std::unique_ptr<rocksdb::FSWritableFile> file,
                     const std::string& fname)
    : FSWritableFileOwnerWrapper(std::move(file)),
      fd_(::open(fname.c_str(), O_WRONLY | O_CLOEXEC)) {}

  ~prefilled_wal_file() override {
    if (fd_ >= 0)
      ::close(fd_);
  }

  rocksdb::IOStatus Append(const rocksdb::Slice& data,
                           const rocksdb::IOOptions& options,
                           rocksdb::IODebugContext* dbg) override {
    prefill(options, data.size(), dbg);
    return target()->Append(data, options, dbg);
  }

  rocksdb::IOStatus Append(const rocksdb::Slice& data,
                           const rocksdb::IOOptions& options,
                           const rocksdb::DataVerificationInfo& info,
                           rocksdb::IODebugContext* dbg) override {
    prefill(options, data.size(), dbg);
    return target()->Append(data, options, info, dbg);
  }

  rocksdb::IOStatus Close(const rocksdb::IOOptions& options,
                          rocksdb::IODebugContext* dbg) override {
    auto size = target()->GetFileSize(options, dbg);
    auto st = target()->Close(options, dbg);
    if (fd_ >= 0) {
      // No zeros stay behind a clean close (RocksDB trims its own
      // preallocation the same way).
      if (st.ok() && filled_ > size
          && ::ftruncate(fd_, static_cast<off_t>(size)) != 0)
        st = rocksdb::IOStatus::IOError("truncating the WAL's prefilled tail");
      ::close(fd_);
      fd_ = -1;
    }
    return st;
  }

private:
  /// Makes sure zeros lie beyond the `n` bytes about to be appended. A
  /// failure (a full disk, say) only stops the prefilling: the append itself
  /// reports what matters.
  void prefill(const rocksdb::IOOptions& options, size_t n,
               rocksdb::IODebugContext* dbg) {
    if (fd_ < 0)
      return;
    // A new file starts empty and zeros always run ahead of the data, so
    // filling from `filled_` never writes over data.
    auto end = target()->GetFileSize(options, dbg) + n;
    if (end <= filled_)
      return;
    auto from = filled_;
    auto to = (end / prefill_chunk + 2) * prefill_chunk;
    for (auto at = from; at < to;) {
      auto len = std::min<uint64_t>(sizeof zeros, to - at);
      auto wrote = ::pwrite(fd_, zeros, len, static_cast<off_t>(at));
      if (wrote <= 0) {
        ::close(fd_);
        fd_ = -1;
        return;
      }
      at += static_cast<uint64_t>(wrote);
    }
    // Start writing the zeros out now, so that the next fsync finds them
    // mostly on disk already.
    ::sync_file_range(fd_, static_cast<off_t>(from),
                      static_cast<off_t>(to - from), SYNC_FILE_RANGE_WRITE);
    filled_ = to;
  }

  int fd_;
  /// The file holds zeros (or data) up to here.
  uint64_t filled_ = 0;
};

class wal_prefill_fs : public rocksdb::FileSystemWrapper {
public:
  using FileSystemWrapper::FileSystemWrapper;

  static const char* kClassName() {
    return "BillowWalPrefillFileSystem";
  }
  const char* Name() const override {
    return kClassName();
  }

  rocksdb::IOStatus
  NewWritableFile(const std::string& fname, const rocksdb::FileOptions& options,
                  std::unique_ptr<rocksdb::FSWritableFile>* result,
                  rocksdb::IODebugContext* dbg) override {
    auto st = target()->NewWritableFile(fname, options, result, dbg);
    if (st.ok() && is_wal(fname) && !options.use_direct_writes
        && !options.use_mmap_writes)
      *result = std::make_unique<prefilled_wal_file>(std::move(*result), fname);
    return st;
  }
};

} // namespace

std::shared_ptr<rocksdb::FileSystem>
make_wal_prefill_file_system(std::shared_ptr<rocksdb::FileSystem> base) {
  return std::make_shared<wal_prefill_fs>(std::move(base));
}

} // namespace billow::events
