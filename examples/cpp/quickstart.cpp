#include "personalize.hpp"
#include <iostream>
int main() try {
  pz::Engine e = pz::Engine::open();  // no config file: every default
  e.put_item("kind-of-blue", {"genre=jazz", "decade=1950s"});
  e.put_item("a-love-supreme", {"genre=jazz", "decade=1960s"});
  e.put_item("paranoid", {"genre=metal", "decade=1970s"});
  e.track("ada", "kind-of-blue", "purchase");  // value 1, time now
  for (const pz::Recommendation &r : e.recommend("ada", 5))
    std::cout << r.item << "  " << r.score << "  " << r.reason << '\n';
} catch (const pz::Error &err) {  // every failure: status code and message
  std::cerr << err.what() << " (code " << err.code() << ")\n";
  return 1;
}
