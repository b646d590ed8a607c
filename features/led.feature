Feature: The LED — a device-style noun
  /led is a single state object, not a collection. It has a "state" (on or off,
  default off) and a "brightness" (an integer from 0 to 100, default 50).
  GET reads the state; PUT sets it exactly, so any field left out takes its
  default; POST runs the noun's update, which for the LED toggles "state";
  DELETE resets everything to the defaults and returns the new state.

  Background:
    Given I have an empty store

  Scenario: A new LED holds the defaults
    When I send a GET request to "/led"
    Then the response status should be 200
    And the header "ETag" should exist
    And the response body should be:
      """
      {"state":"off","brightness":50}
      """

  Scenario: Each POST toggles the state and leaves the brightness alone
    When I send a POST request to "/led"
    Then the response status should be 200
    And the response body should be:
      """
      {"state":"on","brightness":50}
      """
    When I send a POST request to "/led"
    Then the response status should be 200
    And the JSON at path "state" should be "off"
    And the JSON at path "brightness" should be 50

  Scenario: PUT sets the state exactly; fields not given take their defaults
    Given I send a POST request to "/led"
    And the JSON at path "state" should be "on"
    When I send a PUT request to "/led" with body:
      """
      {"brightness":80}
      """
    Then the response status should be 200
    And the response body should be:
      """
      {"state":"off","brightness":80}
      """
    When I send a PUT request to "/led" with body:
      """
      {"state":"on","brightness":100}
      """
    Then the response status should be 200
    And the response body should be:
      """
      {"state":"on","brightness":100}
      """

  Scenario: Invalid values are refused, every bad field is listed, and nothing changes
    Given I send a PUT request to "/led" with body:
      """
      {"state":"on","brightness":70}
      """
    When I send a PUT request to "/led" with body:
      """
      {"state":"blink"}
      """
    Then the response status should be 400
    And the header "Content-Type" should be "application/problem+json"
    And the JSON at path "detail" should be "validation failed"
    And the JSON at path "errors[0].field" should be "state"
    And the JSON at path "errors[0].message" should be "must be one of on, off"
    When I send a PUT request to "/led" with body:
      """
      {"brightness":101,"colour":"red"}
      """
    Then the response status should be 400
    And the response body should be:
      """
      {"type":"about:blank","title":"Bad Request","status":400,"detail":"validation failed",
       "errors":[{"field":"brightness","message":"must be at most 100"},
                 {"field":"colour","message":"is not a field of led"}]}
      """
    When I send a PUT request to "/led" with body:
      """
      {"brightness":"80"}
      """
    Then the response status should be 400
    And the JSON at path "errors[0].message" should be "must be an integer"
    When I send a GET request to "/led"
    Then the response body should be:
      """
      {"state":"on","brightness":70}
      """

  Scenario: DELETE resets the LED to its defaults and returns them
    Given I send a PUT request to "/led" with body:
      """
      {"state":"on","brightness":10}
      """
    When I send a DELETE request to "/led"
    Then the response status should be 200
    And the response body should be:
      """
      {"state":"off","brightness":50}
      """
    When I send a GET request to "/led"
    Then the response body should be:
      """
      {"state":"off","brightness":50}
      """
