Feature: Cars — a collection
  /cars is a collection of records keyed by an integer "id" that the client
  chooses. A car has a "model" and a "color" (both required) and an optional
  "year". POST to the collection creates a car; GET, PUT (full replace),
  PATCH (JSON Merge Patch) and DELETE work on one car at /cars/{id}.
  Lists are pages: "limit" sets the page size, the Link header points to the
  next page, and fields can be filtered with "color=red" or "year[gte]=2010".
  Errors use RFC 9457 problem documents.

  Background:
    Given I have an empty store
    And I am using API "root"

  Scenario: POST creates a car and says where it lives
    When I send a POST request to "/cars" with body:
      """
      {"id":1,"model":"Golf","color":"red","year":2010}
      """
    Then the response status should be 201
    And the header "Location" should be "/cars/1"
    And the header "ETag" should exist
    And the response body should be:
      """
      {"id":1,"model":"Golf","color":"red","year":2010}
      """
    When I send a GET request to "/cars/1"
    Then the response status should be 200
    And the JSON at path "model" should be "Golf"

  Scenario: Creating a car whose id is taken is a conflict
    Given I send a POST request to "/cars" with body:
      """
      {"id":1,"model":"Golf","color":"red"}
      """
    When I send a POST request to "/cars" with body:
      """
      {"id":1,"model":"Polo","color":"red"}
      """
    Then the response status should be 409
    And the header "Content-Type" should be "application/problem+json"
    And the response body should be:
      """
      {"type":"about:blank","title":"Conflict","status":409,
       "detail":"a car with id 1 already exists",
       "errors":[{"field":"id","message":"already exists"}]}
      """

  Scenario: GET on the collection lists the cars in key order
    Given I send a POST request to "/cars" with body:
      """
      {"id":2,"model":"Zoe","color":"blue"}
      """
    And I send a POST request to "/cars" with body:
      """
      {"id":1,"model":"Golf","color":"red","year":2010}
      """
    When I send a GET request to "/cars"
    Then the response status should be 200
    And the response body should be:
      """
      [{"id":1,"model":"Golf","color":"red","year":2010},
       {"id":2,"model":"Zoe","color":"blue"}]
      """

  Scenario: PUT replaces the whole car; what is not given is dropped
    Given I send a POST request to "/cars" with body:
      """
      {"id":1,"model":"Golf","color":"red","year":2010}
      """
    When I send a PUT request to "/cars/1" with body:
      """
      {"model":"Golf GTI","color":"black"}
      """
    Then the response status should be 200
    And the response body should be:
      """
      {"id":1,"model":"Golf GTI","color":"black"}
      """

  Scenario: PATCH merges into the car; null removes an optional value
    Given I send a POST request to "/cars" with body:
      """
      {"id":1,"model":"Golf","color":"red","year":2010}
      """
    When I send a PATCH request to "/cars/1" with body:
      """
      {"year":2015}
      """
    Then the response status should be 200
    And the response body should be:
      """
      {"id":1,"model":"Golf","color":"red","year":2015}
      """
    When I send a PATCH request to "/cars/1" with body:
      """
      {"year":null}
      """
    Then the response status should be 200
    And the response body should be:
      """
      {"id":1,"model":"Golf","color":"red"}
      """

  Scenario: DELETE removes a car; afterwards it is not found
    Given I send a POST request to "/cars" with body:
      """
      {"id":1,"model":"Golf","color":"red"}
      """
    When I send a DELETE request to "/cars/1"
    Then the response status should be 204
    When I send a GET request to "/cars/1"
    Then the response status should be 404
    And the JSON at path "detail" should be "no car with id 1"

  Scenario: A list comes in pages; the Link header leads to the next one
    Given I send a POST request to "/cars" with body:
      """
      {"id":1,"model":"Golf","color":"red","year":2010}
      """
    And I send a POST request to "/cars" with body:
      """
      {"id":2,"model":"Zoe","color":"blue","year":2019}
      """
    And I send a POST request to "/cars" with body:
      """
      {"id":3,"model":"Model 3","color":"red","year":2021}
      """
    When I send a GET request to "/cars?limit=2"
    Then the response status should be 200
    And the JSON at path "" should have 2 items
    And the JSON at path "[0].id" should be 1
    And the JSON at path "[1].id" should be 2
    And the header "Link" should exist
    When I follow the "next" link
    Then the response status should be 200
    And the JSON at path "" should have 1 item
    And the JSON at path "[0].id" should be 3

  Scenario: Filters select the cars by field values
    Given I send a POST request to "/cars" with body:
      """
      {"id":1,"model":"Golf","color":"red","year":2010}
      """
    And I send a POST request to "/cars" with body:
      """
      {"id":2,"model":"Zoe","color":"blue","year":2019}
      """
    And I send a POST request to "/cars" with body:
      """
      {"id":3,"model":"Model 3","color":"red","year":2021}
      """
    When I send a GET request to "/cars?color=red"
    Then the response status should be 200
    And the JSON at path "" should have 2 items
    And the JSON at path "[0].id" should be 1
    And the JSON at path "[1].id" should be 3
    When I send a GET request to "/cars?year[gte]=2015"
    Then the response status should be 200
    And the JSON at path "" should have 2 items
    And the JSON at path "[0].id" should be 2
    And the JSON at path "[1].id" should be 3
    When I send a GET request to "/cars?color=red&year[gte]=2015"
    Then the response body should be:
      """
      [{"id":3,"model":"Model 3","color":"red","year":2021}]
      """

  Scenario: A bad query parameter is a 400 that names it
    When I send a GET request to "/cars?colour=red"
    Then the response status should be 400
    And the JSON at path "detail" should be "invalid query parameters"
    And the JSON at path "errors[0].field" should be "colour"
    When I send a GET request to "/cars?year[gte]=soon"
    Then the response status should be 400
    And the response body should be:
      """
      {"type":"about:blank","title":"Bad Request","status":400,
       "detail":"invalid query parameters",
       "errors":[{"field":"year[gte]","message":"year: \"soon\" is not a number"}]}
      """
