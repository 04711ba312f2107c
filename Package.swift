// swift-tools-version:6.1
import Foundation
import PackageDescription

/// The engine's hot loops are optimised even in debug builds so that `swift test` (debug) runs
/// real models at usable speed, and compiled for Haswell-class x86-64 (AVX2, FMA: every x86 server since
/// 2013, and the machines this project runs on) so SIMD code uses 256-bit registers and fused
/// multiply-adds. Without it Swift targets the 2003 baseline (SSE2).
let cpu: [String] = {
    #if arch(x86_64)
    return ["-target-cpu", "haswell"]
    #else
    return []
    #endif
}()
let hot: [SwiftSetting] = [
    .unsafeFlags(["-O"] + cpu, .when(configuration: .debug)),
    .unsafeFlags(cpu, .when(configuration: .release)),
]

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
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        // L0 leaves
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS"),
        .target(name: "VectorMath", swiftSettings: hot),
        .target(name: "CPrefetch"),
        // Int8 kernels, optimised even in debug builds (the tests run them on real models).
        .target(name: "CInt8", cSettings: [.unsafeFlags(["-O2"])]),
        // The fp32 panel kernel for the linear layers, optimised even in debug builds too.
        .target(name: "CFloatGemm", cSettings: [.unsafeFlags(["-O2"])]),
        .target(name: "Tokenization", swiftSettings: hot),
        .target(name: "Lexical", swiftSettings: hot),
        .target(name: "NestorMigrations", path: "Migrations", resources: [
            .embedInCode("sqlite/sqlite_0001_initial.sql"), .embedInCode("postgres/postgres_0001_initial.sql"),
            .embedInCode("sqlite/sqlite_0002_coarse_rotation.sql"), .embedInCode("postgres/postgres_0002_coarse_rotation.sql"),
            .embedInCode("sqlite/sqlite_0003_graph_records.sql"), .embedInCode("postgres/postgres_0003_graph_records.sql"),
            .embedInCode("sqlite/sqlite_0004_lexical.sql"), .embedInCode("postgres/postgres_0004_lexical.sql"),
            .embedInCode("postgres/postgres_0005_replication.sql"),
        ]),
        // L1
        .target(name: "TensorOps", dependencies: ["COpenBLAS", "CInt8", "CFloatGemm", "VectorMath"], swiftSettings: hot),
        .target(name: "HNSW", dependencies: ["VectorMath", "CPrefetch"], swiftSettings: hot),
        // L2
        .target(name: "EmbeddingModel", dependencies: ["TensorOps", "VectorMath"], swiftSettings: hot),
        .target(name: "NestorCore", dependencies: ["VectorMath", "HNSW", "Lexical", "CPrefetch", .product(name: "Logging", package: "swift-log")]),
        // L3
        .target(name: "EmbeddingEngine", dependencies: ["NestorCore", "Tokenization", "EmbeddingModel", "TensorOps", "VectorMath"]),
        .target(name: "RemoteEmbedding", dependencies: ["NestorCore", "Tokenization", "VectorMath"]),
        .target(name: "StoreSQLite", dependencies: [
            "NestorCore", "NestorMigrations", .product(name: "GRDB", package: "GRDB.swift"),
        ]),
        .target(name: "StorePostgres", dependencies: [
            "NestorCore", "NestorMigrations", .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "Logging", package: "swift-log"), .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        // L4 service
        .target(name: "Retrieval", dependencies: ["NestorCore", "Lexical", "TensorOps", .product(name: "Logging", package: "swift-log")]),
        .target(name: "Replication", dependencies: [
            "NestorCore", "Retrieval", "StorePostgres", .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "NestorHTTP", dependencies: [
            "NestorCore", "Retrieval", "VectorMath", .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdCore", package: "hummingbird"),
            .product(name: "Logging", package: "swift-log"),
        ], resources: [
            .embedInCode("openapi.json"), .embedInCode("Console/index.html"), .embedInCode("Console/console.css"),
            .embedInCode("Console/console.js"),
        ]),
        // L4 composition root
        .executableTarget(
            name: "Nestor",
            dependencies: [
                "Tokenization", "EmbeddingEngine", "EmbeddingModel", "TensorOps", "RemoteEmbedding", "NestorCore", "Retrieval", "NestorHTTP", "StoreSQLite", "StorePostgres", "Replication", "HNSW",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(name: "TokenizationTests", dependencies: ["Tokenization"], resources: [.copy("Fixtures")]),
        .testTarget(name: "TensorOpsTests", dependencies: ["TensorOps"]),
        .testTarget(name: "HNSWTests", dependencies: ["HNSW"]),
        .testTarget(name: "LexicalTests", dependencies: ["Lexical"]),
        .testTarget(name: "StoreTests", dependencies: [
            "StoreSQLite", "StorePostgres", "NestorCore", "HNSW", "Retrieval", "EmbeddingEngine", .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "PostgresNIO", package: "postgres-nio"),
        ]),
        .testTarget(name: "EmbeddingModelTests", dependencies: ["EmbeddingModel", "VectorMath"], resources: [.copy("Fixtures")]),
        .testTarget(name: "EmbeddingEngineTests", dependencies: ["EmbeddingEngine", "HNSW"]),
        .testTarget(name: "RetrievalTests", dependencies: ["Retrieval", "NestorCore", "Lexical"]),
        .testTarget(name: "NestorHTTPTests", dependencies: [
            "NestorHTTP", "Retrieval", "StoreSQLite", "EmbeddingEngine", .product(name: "HummingbirdTesting", package: "hummingbird"),
        ]),
    ]
)


/// `NESTOR_TEST_TARGETS=TokenizationTests,EmbeddingEngineTests` keeps only those test targets, so
/// `swift build --build-tests --product NestorPackageTests` builds just what they need (a quick
/// loop on a shared 2-core machine); unset, every suite is built.
if let only = ProcessInfo.processInfo.environment["NESTOR_TEST_TARGETS"]?.split(separator: ",").map(String.init) {
    package.targets.removeAll { $0.type == .test && !only.contains($0.name) }
}

/// Benchmarks build only on request (`NESTOR_BENCHMARKS=1`), so everyday builds stay fast.
if ProcessInfo.processInfo.environment["NESTOR_BENCHMARKS"] != nil {
    package.targets.append(.executableTarget(
        name: "EmbeddingBenchmark", dependencies: ["EmbeddingEngine", "NestorCore", "Tokenization"], path: "Benchmarks/EmbeddingBenchmark"))
    package.targets.append(.executableTarget(
        name: "IndexBenchmark", dependencies: ["EmbeddingEngine", "NestorCore", "HNSW", "Lexical", "StoreSQLite", "TensorOps",
                                               .product(name: "Logging", package: "swift-log")],
        path: "Benchmarks/IndexBenchmark", swiftSettings: hot))
}
