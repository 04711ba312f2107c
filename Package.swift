// swift-tools-version:6.1
import PackageDescription

/// The engine's hot loops are optimised even in debug builds so that `swift test` (debug) runs
/// real models at usable speed; release builds are optimised anyway.
let hot: [SwiftSetting] = [.unsafeFlags(["-O"], .when(configuration: .debug))]

/// Targets are layered: kernels → tokenizers → models/engine → index → storage → service → HTTP → CLI.
/// Nothing imports upward; see ARCHITECTURE.md for the map.
let package = Package(
    name: "Nestor",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "nestor", targets: ["Nestor"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // L0 leaves
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS"),
        .target(name: "VectorMath", swiftSettings: hot),
        .target(name: "Tokenization", swiftSettings: hot),
        // L1
        .target(name: "TensorOps", dependencies: ["COpenBLAS", "VectorMath"], swiftSettings: hot),
        // L2
        .target(name: "EmbeddingModel", dependencies: ["TensorOps", "VectorMath"], swiftSettings: hot),
        .target(name: "NestorCore", dependencies: ["VectorMath"]),
        // L3
        .target(name: "EmbeddingEngine", dependencies: ["NestorCore", "Tokenization", "EmbeddingModel"]),
        // L4 composition root
        .executableTarget(
            name: "Nestor",
            dependencies: [
                "Tokenization", "EmbeddingEngine", "NestorCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "TokenizationTests", dependencies: ["Tokenization"], resources: [.copy("Fixtures")]),
        .testTarget(name: "TensorOpsTests", dependencies: ["TensorOps"]),
        .testTarget(name: "EmbeddingModelTests", dependencies: ["EmbeddingModel"], resources: [.copy("Fixtures")]),
        .testTarget(name: "EmbeddingEngineTests", dependencies: ["EmbeddingEngine"]),
    ]
)

