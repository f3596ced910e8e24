{
  "targets": [
    {
      "target_name": "dlkit",
      "sources": [
        "native/addon.cc",
        "native/handle.cc",
        "native/tensor.cc",
        "native/ops.cc",
        "native/allocator.cc",
        "native/jit.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!@(node scripts/find-libtorch.mjs include)"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_CPP_EXCEPTIONS",
        "NODE_ADDON_API_DISABLE_DEPRECATED",
        "_GLIBCXX_USE_CXX11_ABI=<!(node -p \"process.env.DLKIT_CXX11_ABI ?? 1\")"
      ],
      "cflags!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-std=gnu++14"],
      "cflags_cc": ["-std=c++17", "-frtti", "-fexceptions", "-O2", "-Wno-unused-parameter", "-Wno-deprecated-declarations"],
      "libraries": [
        "-L<!(node scripts/find-libtorch.mjs libdir)",
        "-Wl,-rpath,<!(node scripts/find-libtorch.mjs libdir)",
        "-ltorch", "-ltorch_cpu", "-lc10"
      ]
    },
    {
      "target_name": "dlkit_jpeg",
      "sources": ["native/image/jpeg.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17", "-std=gnu++14"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-O3", "-Wno-unused-parameter"],
      "libraries": ["-ljpeg"]
    }
  ]
}
