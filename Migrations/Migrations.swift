/// The schema of each backend as ordered, forward-only SQL migrations. The SQL lives in the
/// `.sql` files beside this one and is compiled into the binary; a store records which ids it
/// has applied and runs the rest in order.
public enum NestorMigrations {
    public struct Migration: Sendable {
        public let id: String
        public let sql: String
    }

    public static let sqlite: [Migration] = [
        Migration(id: "0001_initial", sql: String(decoding: PackageResources.sqlite_0001_initial_sql, as: UTF8.self)),
        Migration(id: "0002_coarse_rotation", sql: String(decoding: PackageResources.sqlite_0002_coarse_rotation_sql, as: UTF8.self)),
        Migration(id: "0003_graph_records", sql: String(decoding: PackageResources.sqlite_0003_graph_records_sql, as: UTF8.self)),
        Migration(id: "0004_lexical", sql: String(decoding: PackageResources.sqlite_0004_lexical_sql, as: UTF8.self)),
    ]

    public static let postgres: [Migration] = [
        Migration(id: "0001_initial", sql: String(decoding: PackageResources.postgres_0001_initial_sql, as: UTF8.self)),
        Migration(id: "0002_coarse_rotation", sql: String(decoding: PackageResources.postgres_0002_coarse_rotation_sql, as: UTF8.self)),
        Migration(id: "0003_graph_records", sql: String(decoding: PackageResources.postgres_0003_graph_records_sql, as: UTF8.self)),
        Migration(id: "0004_lexical", sql: String(decoding: PackageResources.postgres_0004_lexical_sql, as: UTF8.self)),
        Migration(id: "0005_replication", sql: String(decoding: PackageResources.postgres_0005_replication_sql, as: UTF8.self)),
    ]
}
