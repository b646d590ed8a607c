Feature: Artefacts — versioned files in directories
  /artefacts/{dir}/{id} stores files. POST pushes a new artefact (201; a second
  POST to the same name is a conflict). PUT replaces it: every replace is a new,
  immutable version, and the old versions stay downloadable with ?version=N.
  /artefacts/{dir}/{id}/versions lists the versions, newest first. DELETE with
  ?version=N removes one version; DELETE without it removes the whole artefact.
  Uploads are the raw bytes of the file; downloads return them unchanged.

  Background:
    Given I have an empty store
    And I set the header "Content-Type" to "text/plain; charset=utf-8"

  Scenario: Pushing a new artefact creates version 1 and describes it
    When I send a POST request to "/artefacts/docs/hello.txt" with body:
      """
      hello artefacts
      """
    Then the response status should be 201
    And the header "Location" should be "/artefacts/docs/hello.txt"
    And the JSON at path "directory" should be "docs"
    And the JSON at path "id" should be "hello.txt"
    And the JSON at path "version" should be 1
    And the JSON at path "size" should be 15
    And the JSON at path "content_type" should be "text/plain; charset=utf-8"
    When I send a POST request to "/artefacts/docs/hello.txt" with body:
      """
      again
      """
    Then the response status should be 409

  Scenario: Downloading returns the bytes with their version and checksum
    Given I upload "hello artefacts" as "docs/hello.txt"
    When I send a GET request to "/artefacts/docs/hello.txt"
    Then the response status should be 200
    And the header "X-Artefact-Version" should be "1"
    And the header "Content-Length" should be "15"
    And the header "ETag" should exist
    And the header "Repr-Digest" should exist
    And the response body should be:
      """
      hello artefacts
      """

  Scenario: PUT replaces an artefact with a new version; the old one stays
    Given I send a POST request to "/artefacts/docs/hello.txt" with body:
      """
      first version
      """
    When I send a PUT request to "/artefacts/docs/hello.txt" with body:
      """
      second version
      """
    Then the response status should be 200
    And the JSON at path "version" should be 2
    When I send a GET request to "/artefacts/docs/hello.txt"
    Then the header "X-Artefact-Version" should be "2"
    And the response body should be:
      """
      second version
      """
    When I send a GET request to "/artefacts/docs/hello.txt?version=1"
    Then the response status should be 200
    And the header "X-Artefact-Version" should be "1"
    And the response body should be:
      """
      first version
      """

  Scenario: The versions are listed newest first
    Given I upload "first version" as "docs/hello.txt"
    And I upload "second version" as "docs/hello.txt"
    And I upload "third version" as "docs/hello.txt"
    When I send a GET request to "/artefacts/docs/hello.txt/versions"
    Then the response status should be 200
    And the JSON at path "" should have 3 items
    And the JSON at path "[0].version" should be 3
    And the JSON at path "[1].version" should be 2
    And the JSON at path "[2].version" should be 1
    And the JSON at path "[2].size" should be 13

  Scenario: Deleting one version leaves the others
    Given I upload "first version" as "docs/hello.txt"
    And I upload "second version" as "docs/hello.txt"
    When I send a DELETE request to "/artefacts/docs/hello.txt?version=1"
    Then the response status should be 204
    When I send a GET request to "/artefacts/docs/hello.txt?version=1"
    Then the response status should be 404
    When I send a GET request to "/artefacts/docs/hello.txt/versions"
    Then the JSON at path "" should have 1 item
    And the JSON at path "[0].version" should be 2
    When I send a GET request to "/artefacts/docs/hello.txt"
    Then the response status should be 200
    And the response body should be:
      """
      second version
      """

  Scenario: Deleting the artefact removes every version
    Given I upload "first version" as "docs/hello.txt"
    And I upload "second version" as "docs/hello.txt"
    When I send a DELETE request to "/artefacts/docs/hello.txt"
    Then the response status should be 204
    When I send a GET request to "/artefacts/docs/hello.txt"
    Then the response status should be 404
    When I send a GET request to "/artefacts/docs/hello.txt?version=1"
    Then the response status should be 404
