// The WAL prefilling file system (events/wal_file_system.hpp): zeros ahead
// of the log while it is written, none left after a clean close, nothing
// else touched, and a store whose WAL ends in zeros reopens whole.

#include "events/wal_file_system.hpp"

#include <filesystem>
#include <fstream>
#include <iterator>

#include <gtest/gtest.h>

#include "events/event_store.hpp"
#include "tests/support/temp_dir.hpp"

using namespace billow;
using namespace billow::events;

namespace {

std::string file_bytes(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  return {std::istreambuf_iterator<char>{in}, {}};
}

/// Appends `data` twice to the file at `path` through the prefilling file
/// system and syncs it; returns the file's size on disk then. Closes the
/// file when `close`, else leaves it as a crash would.
uint64_t write_through(const std::string& path, const std::string& data,
                       bool close = true) {
  auto fs = make_wal_prefill_file_system(rocksdb::FileSystem::Default());
  std::unique_ptr<rocksdb::FSWritableFile> file;
  EXPECT_TRUE(
    fs->NewWritableFile(path, rocksdb::FileOptions{}, &file, nullptr).ok());
  EXPECT_TRUE(file->Append(data, rocksdb::IOOptions{}, nullptr).ok());
  EXPECT_TRUE(file->Append(data, rocksdb::IOOptions{}, nullptr).ok());
  EXPECT_TRUE(file->Sync(rocksdb::IOOptions{}, nullptr).ok());
  auto size = std::filesystem::file_size(path);
  if (close) {
    EXPECT_TRUE(file->Close(rocksdb::IOOptions{}, nullptr).ok());
  }
  return size;
}

} // namespace

TEST(wal_file_system,
     a_wal_has_zeros_ahead_while_written_and_none_after_close) {
  test::temp_dir dir{"wal-fs"};
  auto path = dir.sub("000007.log");
  auto open_size = write_through(path, "record", false);
  EXPECT_GE(open_size, 1u << 20);
  auto bytes = file_bytes(path);
  EXPECT_EQ(bytes.substr(0, 12), "recordrecord");
  EXPECT_EQ(bytes.find_first_not_of('\0', 12), std::string::npos);
  // Closed cleanly: exactly the bytes written.
  test::temp_dir dir2{"wal-fs"};
  auto path2 = dir2.sub("000008.log");
  write_through(path2, "record");
  EXPECT_EQ(file_bytes(path2), "recordrecord");
}

TEST(wal_file_system, other_files_are_written_as_they_are) {
  test::temp_dir dir{"wal-fs"};
  for (auto name : {"MANIFEST-000001", "LOG", "000009.sst", "x.log"}) {
    auto path = dir.sub(name);
    EXPECT_EQ(write_through(path, "abc", false), 6u) << name;
  }
}

TEST(wal_file_system, a_store_whose_wal_ends_in_zeros_reopens_whole) {
  test::temp_dir dir{"wal-fs-store"};
  test::temp_dir copy{"wal-fs-copy"};
  {
    auto store = event_store::open({dir.sub("db"), nullptr, {}, nullptr, {}});
    ASSERT_TRUE(store);
    for (int i = 0; i < 50; ++i) {
      new_event ev;
      ev.event_id = uuid::random();
      ev.type = "service.created";
      ev.actor = "system";
      ev.payload = R"({"n":)" + std::to_string(i) + "}";
      ASSERT_TRUE((*store)->append("svc-" + std::to_string(i % 5),
                                   expected_version::any(), {ev},
                                   durability::sync));
    }
    // What a power cut leaves: the directory as it is, WAL tail of zeros
    // and all, while the store is still open.
    bool zero_tail = false;
    for (auto& f : std::filesystem::directory_iterator(dir.sub("db")))
      if (f.path().extension() == ".log" && f.file_size() >= (1u << 20))
        zero_tail = true;
    EXPECT_TRUE(zero_tail);
    std::filesystem::copy(dir.sub("db"), copy.sub("db"),
                          std::filesystem::copy_options::recursive);
  }
  std::filesystem::remove(copy.sub("db") + "/LOCK");
  auto reopened = event_store::open({copy.sub("db"), nullptr, {}, nullptr, {}});
  ASSERT_TRUE(reopened) << to_string(reopened.error());
  EXPECT_EQ((*reopened)->last_position(), 50u);
  auto all = (*reopened)->read_all(1, 100);
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 50u);
  EXPECT_EQ(all->back().payload, R"({"n":49})");
  auto report = (*reopened)->verify(1, 50);
  ASSERT_TRUE(report);
  EXPECT_TRUE(report->ok()) << report->problem;
}
