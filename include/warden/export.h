// WARDEN_EXPORT marks what libwarden.so exports: the public C++ classes and
// functions of include/warden/ and the C functions of warden.h. warden is
// compiled with -fvisibility=hidden, so everything else (the internal
// modules, and the libraries compiled into it) stays inside the library.
#ifndef WARDEN_EXPORT_H_
#define WARDEN_EXPORT_H_

// In C++ the standard attribute syntax, which may follow another attribute
// (`class [[nodiscard]] WARDEN_EXPORT Status`); C11, for warden.h, has only
// GCC's own.
#if defined(__cplusplus) && defined(__GNUC__)
#define WARDEN_EXPORT [[gnu::visibility("default")]]
#elif defined(__GNUC__)
#define WARDEN_EXPORT __attribute__((visibility("default")))
#else
#define WARDEN_EXPORT
#endif

#endif  // WARDEN_EXPORT_H_
