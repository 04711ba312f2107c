/// The OpenAPI 3.1 description of the HTTP API, served at `/openapi.json`; the test suite checks
/// that every route the router serves is described here.
enum OpenAPIDocument {
    static let json = #"""
{
 "openapi": "3.1.0",
 "info": {
  "title": "Nestor",
  "version": "0.1.0",
  "description": "Embeddings (OpenAI-, Cohere- and vLLM-compatible) from Nestor's own engine. Errors use OpenAI's shape."
 },
 "paths": {
  "/v1/embeddings": {
   "post": {
    "summary": "Embed strings or token ids (OpenAI)",
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/EmbeddingRequest"
       }
      }
     }
    },
    "responses": {
     "200": {
      "description": "OK",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/EmbeddingResponse"
        }
       }
      }
     },
     "400": {
      "$ref": "#/components/responses/Error"
     },
     "401": {
      "$ref": "#/components/responses/Error"
     },
     "404": {
      "$ref": "#/components/responses/Error"
     },
     "413": {
      "$ref": "#/components/responses/Error"
     },
     "415": {
      "$ref": "#/components/responses/Error"
     }
    }
   }
  },
  "/v2/embed": {
   "post": {
    "summary": "Embed texts (Cohere v2 style, as vLLM serves it)",
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/CohereEmbedRequest"
       }
      }
     }
    },
    "responses": {
     "200": {
      "description": "OK",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/CohereEmbedResponse"
        }
       }
      }
     },
     "400": {
      "$ref": "#/components/responses/Error"
     },
     "401": {
      "$ref": "#/components/responses/Error"
     },
     "404": {
      "$ref": "#/components/responses/Error"
     },
     "413": {
      "$ref": "#/components/responses/Error"
     },
     "415": {
      "$ref": "#/components/responses/Error"
     }
    }
   }
  },
  "/v1/score": {
   "post": {
    "summary": "Cosine similarity of text pairs",
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/ScoreRequest"
       }
      }
     }
    },
    "responses": {
     "200": {
      "description": "OK",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/ScoreResponse"
        }
       }
      }
     },
     "400": {
      "$ref": "#/components/responses/Error"
     },
     "401": {
      "$ref": "#/components/responses/Error"
     },
     "404": {
      "$ref": "#/components/responses/Error"
     },
     "413": {
      "$ref": "#/components/responses/Error"
     },
     "415": {
      "$ref": "#/components/responses/Error"
     }
    }
   }
  },
  "/score": {
   "post": {
    "summary": "Alias of /v1/score",
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/ScoreRequest"
       }
      }
     }
    },
    "responses": {
     "200": {
      "description": "OK",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/ScoreResponse"
        }
       }
      }
     },
     "400": {
      "$ref": "#/components/responses/Error"
     },
     "401": {
      "$ref": "#/components/responses/Error"
     },
     "404": {
      "$ref": "#/components/responses/Error"
     },
     "413": {
      "$ref": "#/components/responses/Error"
     },
     "415": {
      "$ref": "#/components/responses/Error"
     }
    }
   }
  },
  "/v1/models": {
   "get": {
    "summary": "The served model and its aliases",
    "responses": {
     "200": {
      "description": "OK",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/ModelList"
        }
       }
      }
     },
     "401": {
      "$ref": "#/components/responses/Error"
     }
    }
   }
  },
  "/health": {
   "get": {
    "summary": "200 once the model is loaded; never needs an API key",
    "responses": {
     "200": {
      "description": "ready"
     }
    }
   }
  },
  "/metrics": {
   "get": {
    "summary": "Prometheus metrics",
    "responses": {
     "200": {
      "description": "text exposition format",
      "content": {
       "text/plain": {
        "schema": {
         "type": "string"
        }
       }
      }
     }
    }
   }
  },
  "/collections": {
  "get": {
   "summary": "List collections",
   "responses": {
    "200": {
     "description": "OK"
    },
    "400": {
     "$ref": "#/components/responses/Error"
    },
    "404": {
     "$ref": "#/components/responses/Error"
    }
   }
  },
  "post": {
   "summary": "Create a collection bound to the served model",
   "responses": {
    "201": {
     "description": "Created"
    },
    "400": {
     "$ref": "#/components/responses/Error"
    },
    "409": {
     "$ref": "#/components/responses/Error"
    }
   },
   "requestBody": {
    "required": true,
    "content": {
     "application/json": {
      "schema": {
       "type": "object",
       "required": [
        "name"
       ],
       "properties": {
        "name": {
         "type": "string"
        },
        "coarse_dimensions": {
         "type": "integer"
        },
        "m": {
         "type": "integer"
        },
        "ef_construction": {
         "type": "integer"
        }
       }
      }
     }
    }
   }
  }
 },
 "/collections/{name}": {
  "get": {
   "summary": "A collection: sizes, parameters, coarse basis",
   "responses": {
    "200": {
     "description": "OK"
    },
    "400": {
     "$ref": "#/components/responses/Error"
    },
    "404": {
     "$ref": "#/components/responses/Error"
    }
   }
  },
  "delete": {
   "summary": "Delete a collection and everything in it",
   "responses": {
    "200": {
     "description": "OK"
    },
    "400": {
     "$ref": "#/components/responses/Error"
    },
    "404": {
     "$ref": "#/components/responses/Error"
    }
   }
  }
 },
 "/collections/{name}/optimize": {
  "post": {
   "summary": "Refit the coarse PCA basis on the collection's vectors and rebuild its graph",
   "responses": {
    "200": {
     "description": "OK"
    },
    "400": {
     "$ref": "#/components/responses/Error"
    },
    "404": {
     "$ref": "#/components/responses/Error"
    }
   }
  }
 },
 "/ingest": {
  "post": {
   "summary": "Chunk, embed and store documents (upsert by id); answers once durable",
   "responses": {
    "200": {
     "description": "OK"
    },
    "400": {
     "$ref": "#/components/responses/Error"
    },
    "404": {
     "$ref": "#/components/responses/Error"
    },
    "409": {
     "$ref": "#/components/responses/Error"
    },
    "413": {
     "$ref": "#/components/responses/Error"
    }
   },
   "requestBody": {
    "required": true,
    "content": {
     "application/json": {
      "schema": {
       "type": "object",
       "required": [
        "collection",
        "documents"
       ],
       "properties": {
        "collection": {
         "type": "string"
        },
        "documents": {
         "type": "array",
         "items": {
          "type": "object",
          "required": [
           "text"
          ],
          "properties": {
           "id": {
            "type": "string"
           },
           "text": {
            "type": "string"
           },
           "metadata": {
            "type": "object"
           }
          }
         }
        },
        "chunking": {
         "type": "object",
         "required": [
          "max_tokens"
         ],
         "properties": {
          "max_tokens": {
           "type": "integer"
          },
          "overlap_tokens": {
           "type": "integer"
          }
         }
        }
       }
      }
     }
    }
   }
  }
 },
 "/search": {
  "post": {
   "summary": "Two-stage semantic search by text or vector",
   "responses": {
    "200": {
     "description": "OK"
    },
    "400": {
     "$ref": "#/components/responses/Error"
    },
    "404": {
     "$ref": "#/components/responses/Error"
    },
    "409": {
     "$ref": "#/components/responses/Error"
    }
   },
   "requestBody": {
    "required": true,
    "content": {
     "application/json": {
      "schema": {
       "type": "object",
       "required": [
        "collection"
       ],
       "properties": {
        "collection": {
         "type": "string"
        },
        "query": {
         "type": "string"
        },
        "vector": {
         "type": "array",
         "items": {
          "type": "number"
         }
        },
        "top_k": {
         "type": "integer",
         "default": 10
        },
        "rerank_depth": {
         "type": "integer",
         "description": "coarse candidates re-scored at full dimension; 0 = coarse scores only"
        },
        "ef": {
         "type": "integer"
        },
        "filter": {
         "type": "object",
         "description": "Metadata filter: {field: value}, {field: {$eq|$ne|$in|$nin|$gt|$gte|$lt|$lte|$exists: \u2026}}, {$and: [...]}, {$or: [...]}"
        },
        "group_by_document": {
         "type": "boolean"
        },
        "exact": {
         "type": "boolean"
        },
        "include": {
         "type": "array",
         "items": {
          "enum": [
           "text",
           "metadata",
           "vector"
          ]
         }
        }
       }
      }
     }
    }
   }
  }
 },
 "/documents/{collection}/{id}": {
  "get": {
   "summary": "A stored document with its chunks",
   "responses": {
    "200": {
     "description": "OK"
    },
    "400": {
     "$ref": "#/components/responses/Error"
    },
    "404": {
     "$ref": "#/components/responses/Error"
    }
   }
  },
  "delete": {
   "summary": "Delete a document",
   "responses": {
    "200": {
     "description": "OK"
    },
    "400": {
     "$ref": "#/components/responses/Error"
    },
    "404": {
     "$ref": "#/components/responses/Error"
    }
   }
  }
 },
  "/openapi.json": {
   "get": {
    "summary": "This document",
    "responses": {
     "200": {
      "description": "OpenAPI 3.1"
     }
    }
   }
  }
 },
 "components": {
  "responses": {
   "Error": {
    "description": "Error",
    "content": {
     "application/json": {
      "schema": {
       "$ref": "#/components/schemas/Error"
      }
     }
    }
   }
  },
  "securitySchemes": {
   "bearer": {
    "type": "http",
    "scheme": "bearer",
    "description": "Required on every route but /health when the server runs with --api-key"
   }
  },
  "schemas": {
   "Error": {
    "type": "object",
    "required": [
     "error"
    ],
    "properties": {
     "error": {
      "type": "object",
      "required": [
       "message",
       "type",
       "code"
      ],
      "properties": {
       "message": {
        "type": "string"
       },
       "type": {
        "type": "string"
       },
       "param": {
        "type": [
         "string",
         "null"
        ]
       },
       "code": {
        "type": "integer"
       }
      }
     }
    }
   },
   "EmbeddingRequest": {
    "type": "object",
    "required": [
     "input"
    ],
    "properties": {
     "input": {
      "oneOf": [
       {
        "type": "string",
        "minLength": 1
       },
       {
        "type": "array",
        "minItems": 1,
        "maxItems": 2048,
        "items": {
         "type": "string",
         "minLength": 1
        }
       },
       {
        "type": "array",
        "minItems": 1,
        "items": {
         "type": "integer"
        }
       },
       {
        "type": "array",
        "minItems": 1,
        "items": {
         "type": "array",
         "minItems": 1,
         "items": {
          "type": "integer"
         }
        }
       }
      ]
     },
     "model": {
      "type": "string",
      "description": "The served model name or an alias"
     },
     "encoding_format": {
      "type": "string",
      "enum": [
       "float",
       "base64"
      ],
      "default": "float",
      "description": "base64 = little-endian float32 bytes"
     },
     "dimensions": {
      "type": "integer",
      "minimum": 1,
      "description": "Matryoshka size; only for models that declare it (or by launch override)"
     },
     "user": {
      "type": "string"
     },
     "truncate_prompt_tokens": {
      "type": "integer",
      "description": "-1 = model limit; k keeps k tokens (from the end unless truncation_side is right)"
     },
     "truncation_side": {
      "type": "string",
      "enum": [
       "left",
       "right"
      ]
     },
     "truncate": {
      "type": "string",
      "enum": [
       "END",
       "START",
       "NONE"
      ],
      "default": "END",
      "description": "NONE rejects over-long inputs with 400"
     },
     "add_special_tokens": {
      "type": "boolean",
      "default": true
     },
     "input_type": {
      "type": "string",
      "description": "query or document (search_query / search_document): selects the model's prompt"
     },
     "prompt_name": {
      "type": "string",
      "description": "A prompt from config_sentence_transformers.json"
     }
    }
   },
   "EmbeddingResponse": {
    "type": "object",
    "properties": {
     "object": {
      "const": "list"
     },
     "data": {
      "type": "array",
      "items": {
       "type": "object",
       "properties": {
        "object": {
         "const": "embedding"
        },
        "index": {
         "type": "integer"
        },
        "embedding": {
         "oneOf": [
          {
           "type": "array",
           "items": {
            "type": "number"
           }
          },
          {
           "type": "string"
          }
         ]
        }
       }
      }
     },
     "model": {
      "type": "string"
     },
     "usage": {
      "type": "object",
      "properties": {
       "prompt_tokens": {
        "type": "integer"
       },
       "total_tokens": {
        "type": "integer"
       }
      }
     }
    }
   },
   "CohereEmbedRequest": {
    "type": "object",
    "required": [
     "texts"
    ],
    "properties": {
     "texts": {
      "type": "array",
      "minItems": 1,
      "items": {
       "type": "string",
       "minLength": 1
      }
     },
     "model": {
      "type": "string"
     },
     "input_type": {
      "type": "string",
      "enum": [
       "search_query",
       "search_document",
       "classification",
       "clustering"
      ]
     },
     "embedding_types": {
      "type": "array",
      "items": {
       "type": "string",
       "enum": [
        "float",
        "int8",
        "uint8",
        "binary",
        "ubinary",
        "base64"
       ]
      }
     },
     "output_dimension": {
      "type": "integer",
      "minimum": 1
     },
     "truncate": {
      "type": "string",
      "enum": [
       "END",
       "START",
       "NONE"
      ]
     }
    }
   },
   "CohereEmbedResponse": {
    "type": "object",
    "properties": {
     "id": {
      "type": "string"
     },
     "embeddings": {
      "type": "object",
      "additionalProperties": {
       "type": "array"
      }
     },
     "texts": {
      "type": "array",
      "items": {
       "type": "string"
      }
     },
     "meta": {
      "type": "object"
     },
     "response_type": {
      "const": "embeddings_by_type"
     }
    }
   },
   "ScoreRequest": {
    "type": "object",
    "required": [
     "text_1",
     "text_2"
    ],
    "properties": {
     "model": {
      "type": "string"
     },
     "text_1": {
      "oneOf": [
       {
        "type": "string"
       },
       {
        "type": "array",
        "items": {
         "type": "string"
        }
       }
      ]
     },
     "text_2": {
      "oneOf": [
       {
        "type": "string"
       },
       {
        "type": "array",
        "items": {
         "type": "string"
        }
       }
      ]
     }
    }
   },
   "ScoreResponse": {
    "type": "object",
    "properties": {
     "object": {
      "const": "list"
     },
     "data": {
      "type": "array",
      "items": {
       "type": "object",
       "properties": {
        "index": {
         "type": "integer"
        },
        "object": {
         "const": "score"
        },
        "score": {
         "type": "number"
        }
       }
      }
     },
     "usage": {
      "type": "object"
     }
    }
   },
   "ModelList": {
    "type": "object",
    "properties": {
     "object": {
      "const": "list"
     },
     "data": {
      "type": "array",
      "items": {
       "type": "object",
       "properties": {
        "id": {
         "type": "string"
        },
        "object": {
         "const": "model"
        },
        "owned_by": {
         "type": "string"
        },
        "max_model_len": {
         "type": "integer"
        },
        "dimensions": {
         "type": "integer"
        }
       }
      }
     }
    }
   }
  }
 },
 "security": [
  {},
  {
   "bearer": []
  }
 ]
}
"""#
}
