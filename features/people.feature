Feature: People — a versioned API whose answers come in a status envelope
  The demo's people live under the API base /v1. A person's key is their name,
  taken from the URL: PUT /v1/people/fred creates or replaces fred. Every answer
  is wrapped in an envelope: {"status":"ok","result":…} on success and
  {"status":"error","message":…,"errors":[…]} on failure, where "errors" lists
  each field that was refused and why.

  Background:
    Given I have an empty store
    And I am using API "v1"

  Scenario: A PUT to a new name creates the person
    When I send a PUT request to "/people/fred" with body:
      """
      {"email":"a@b.c"}
      """
    Then the response status should be 201
    And the header "Location" should be "/v1/people/fred"
    And the header "ETag" should exist
    And the response body should be:
      """
      {"status":"ok","result":{"comment":null,"name":"fred","email":"a@b.c"}}
      """

  Scenario: A person can be read back, with unset optional fields as null
    Given I send a PUT request to "/people/fred" with body:
      """
      {"email":"a@b.c"}
      """
    When I send a GET request to "/people/fred"
    Then the response status should be 200
    And the JSON at path "status" should be "ok"
    And the JSON at path "result.name" should be "fred"
    And the JSON at path "result.email" should be "a@b.c"
    And the JSON at path "result.comment" should be null

  Scenario: A PUT to an existing name replaces the person
    Given I send a PUT request to "/people/fred" with body:
      """
      {"email":"a@b.c"}
      """
    When I send a PUT request to "/people/fred" with body:
      """
      {"email":"fred@example.com","comment":"likes cars"}
      """
    Then the response status should be 200
    And the response body should be:
      """
      {"status":"ok","result":{"comment":"likes cars","name":"fred","email":"fred@example.com"}}
      """
    When I send a GET request to "/people"
    Then the response status should be 200
    And the JSON at path "result" should have 1 item
    And the JSON at path "result[0].comment" should be "likes cars"

  Scenario: Reading or deleting someone who does not exist is a 404 in the envelope
    When I send a GET request to "/people/fred"
    Then the response status should be 404
    And the response body should be:
      """
      {"status":"error","message":"no person with name fred","errors":[]}
      """
    When I send a DELETE request to "/people/fred"
    Then the response status should be 404
    And the JSON at path "status" should be "error"
    And the JSON at path "message" should be "no person with name fred"

  Scenario: Deleting a person answers 204, and they are gone afterwards
    Given I send a PUT request to "/people/fred" with body:
      """
      {"email":"a@b.c"}
      """
    When I send a DELETE request to "/people/fred"
    Then the response status should be 204
    When I send a GET request to "/people/fred"
    Then the response status should be 404
    When I send a DELETE request to "/people/fred"
    Then the response status should be 404

  Scenario: An invalid email is refused, naming the field, and nothing is stored
    When I send a PUT request to "/people/jane" with body:
      """
      {"email":"not-an-email"}
      """
    Then the response status should be 400
    And the response body should be:
      """
      {"status":"error","message":"validation failed",
       "errors":[{"field":"email","message":"must be an email address such as name@example.com"}]}
      """
    When I send a GET request to "/people/jane"
    Then the response status should be 404

  Scenario: A missing required field is refused, naming the field
    When I send a PUT request to "/people/jane" with body:
      """
      {"comment":"no email given"}
      """
    Then the response status should be 400
    And the JSON at path "status" should be "error"
    And the JSON at path "message" should be "validation failed"
    And the JSON at path "errors[0].field" should be "email"
    And the JSON at path "errors[0].message" should be "is required"
