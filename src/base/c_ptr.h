// CPtr: a unique_ptr for an object of a C library, freed by that library's
// function.
//
//   using TablePtr = base::CPtr<nftnl_table, nftnl_table_free>;
#ifndef WARDEN_BASE_C_PTR_H_
#define WARDEN_BASE_C_PTR_H_

#include <memory>

namespace warden::base {

template <auto Free>
struct FreeWith {
  template <typename T>
  void operator()(T* p) const {
    Free(p);
  }
};

template <typename T, auto Free>
using CPtr = std::unique_ptr<T, FreeWith<Free>>;

}  // namespace warden::base

#endif  // WARDEN_BASE_C_PTR_H_
