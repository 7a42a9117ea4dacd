# All dependencies come from Debian 12 packages (scripts/install-deps.sh).
find_package(Threads REQUIRED)
find_package(Boost 1.74 REQUIRED)
find_package(nlohmann_json 3.11 REQUIRED)
find_package(CLI11 REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(TOMLPP REQUIRED IMPORTED_TARGET tomlplusplus)
find_package(SQLite3 REQUIRED)
find_package(PostgreSQL REQUIRED)
find_package(OpenSSL REQUIRED)

# Boost 1.74's asio/awaitable.hpp uses std::exchange without including <utility>; every
# translation unit that includes Asio goes through src/http/asio.hpp, which fixes the order.
add_library(studio_boost INTERFACE)
target_link_libraries(studio_boost INTERFACE Boost::headers Threads::Threads)
target_compile_definitions(studio_boost INTERFACE BOOST_ASIO_NO_DEPRECATED BOOST_BEAST_USE_STD_STRING_VIEW)

# jemalloc for the studio binary: small-object churn per request made glibc malloc ~15% of CPU
# under load (see docs/PERFORMANCE.md). Not with sanitizers, which bring their own allocator.
pkg_check_modules(JEMALLOC REQUIRED IMPORTED_TARGET jemalloc)

# Credentials: argon2id (libsodium), legacy bcrypt verification (libxcrypt), password strength (zxcvbn).
pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium)
pkg_check_modules(XCRYPT REQUIRED IMPORTED_TARGET libxcrypt)
find_library(ZXCVBN_LIBRARY zxcvbn REQUIRED)
find_path(ZXCVBN_INCLUDE_DIR zxcvbn.h REQUIRED)
add_library(studio_zxcvbn INTERFACE)
target_link_libraries(studio_zxcvbn INTERFACE ${ZXCVBN_LIBRARY})
target_include_directories(studio_zxcvbn SYSTEM INTERFACE ${ZXCVBN_INCLUDE_DIR})

# Knowledge base. Document extraction: PDF (poppler), DOCX (libzip + libxml2), HTML (libxml2),
# Markdown (cmark), type detection (libmagic), encodings (uchardet + ICU). Text: ICU for
# normalisation and sentence boundaries. Vectors: hnswlib (header-only). Outbound HTTP: libcurl.
pkg_check_modules(POPPLER_CPP REQUIRED IMPORTED_TARGET poppler-cpp)
pkg_check_modules(LIBZIP REQUIRED IMPORTED_TARGET libzip)
pkg_check_modules(LIBXML2 REQUIRED IMPORTED_TARGET libxml-2.0)
pkg_check_modules(CMARK REQUIRED IMPORTED_TARGET libcmark)
pkg_check_modules(UCHARDET REQUIRED IMPORTED_TARGET uchardet)
pkg_check_modules(ICU REQUIRED IMPORTED_TARGET icu-uc icu-i18n)
pkg_check_modules(CURL REQUIRED IMPORTED_TARGET libcurl)
find_library(MAGIC_LIBRARY magic REQUIRED)
find_path(MAGIC_INCLUDE_DIR magic.h REQUIRED)
add_library(studio_magic INTERFACE)
target_link_libraries(studio_magic INTERFACE ${MAGIC_LIBRARY})
target_include_directories(studio_magic SYSTEM INTERFACE ${MAGIC_INCLUDE_DIR})
find_path(HNSWLIB_INCLUDE_DIR hnswlib/hnswlib.h REQUIRED)
add_library(studio_hnswlib INTERFACE)
target_include_directories(studio_hnswlib SYSTEM INTERFACE ${HNSWLIB_INCLUDE_DIR})
if(STUDIO_TESTS)
  # Tests write real PDFs with cairo.
  pkg_check_modules(CAIRO REQUIRED IMPORTED_TARGET cairo)
endif()
