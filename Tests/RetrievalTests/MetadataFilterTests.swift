import Foundation
import NestorCore
import Testing

@Suite struct MetadataFilterTests {
    func filter(_ json: String) throws -> MetadataFilter {
        try MetadataFilter(MetadataValue(json: try JSONSerialization.jsonObject(with: Data(json.utf8)))!)
    }
    let doc = MetadataValue.fields(ofJSON: #"{"lang": "de", "year": 2021, "tags": ["a", "b"], "author": {"name": "Ada"}, "draft": false}"#)

    @Test func operators() throws {
        let cases: [(String, Bool)] = [
            (#"{"lang": "de"}"#, true), (#"{"lang": "en"}"#, false),
            (#"{"lang": {"$ne": "en"}}"#, true), (#"{"lang": {"$in": ["fr", "de"]}}"#, true), (#"{"lang": {"$nin": ["de"]}}"#, false),
            (#"{"year": {"$gt": 2020}}"#, true), (#"{"year": {"$gte": 2021, "$lt": 2022}}"#, true), (#"{"year": {"$lte": 2020}}"#, false),
            (#"{"year": {"$gt": "2020"}}"#, false),  // a number never compares with a string
            (#"{"tags": "a"}"#, true), (#"{"tags": {"$in": ["b", "z"]}}"#, true), (#"{"tags": {"$nin": ["b"]}}"#, false),
            (#"{"author.name": "Ada"}"#, true), (#"{"missing": {"$exists": false}}"#, true), (#"{"missing": {"$ne": 1}}"#, true),
            (#"{"draft": false}"#, true), (#"{"draft": 0}"#, false),
            (#"{"$or": [{"lang": "en"}, {"year": 2021}]}"#, true), (#"{"$and": [{"lang": "de"}, {"year": 1999}]}"#, false),
            (#"{"lang": "de", "year": 1999}"#, false),
        ]
        for (json, expected) in cases {
            #expect(try filter(json).matches(doc) == expected, "\(json)")
        }
    }

    @Test func malformedFiltersNameTheFault() {
        for (json, fragment) in [(#"{"year": {"$near": 1}}"#, "$near"), (#"{"$xor": []}"#, "$xor"), (#"{"$and": []}"#, "non-empty"),
                                 (#"{"tags": {"$in": "a"}}"#, "array"), (#"{"year": {"$gt": [1]}}"#, "number or a string")] {
            #expect {
                _ = try filter(json)
            } throws: { ($0 as? MetadataFilter.ParseError)?.description.contains(fragment) == true }
        }
    }
}
